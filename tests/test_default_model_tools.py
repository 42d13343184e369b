"""The default model's weight tools in scripts/default_model/v2: skip scaling and weight averaging."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vstyle.models import build
from vstyle.weights import save_model
from vstyle.weights.modelfile import load_model, read_metadata

TOOLS = Path(__file__).resolve().parent.parent / "scripts" / "default_model" / "v2"
SKIPS = {"tap": "e6x", "loss_taps": ["c0", "e6x"], "rank": 8, "dec_widths": [16, 8, 4, 4], "dec_separable": 1,
         "skip_taps": ["b0", "b2"]}


def _tool(name: str, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(TOOLS / name), *map(str, args)], capture_output=True, text=True)


def _saved(tmp_path: Path, name: str, seed: int, config: dict[str, object] = SKIPS) -> Path:
    torch.manual_seed(seed)
    model = build("sctnet-mobile", config)
    for p in model.decoder.parameters():  # the skip projections start at zero; give them something to scale
        p.data.normal_()
    return save_model(model, tmp_path / f"{name}.safetensors", provenance={"test": True}, dtype=torch.float16)


def test_average_weights_is_the_weighted_mean(tmp_path: Path) -> None:
    a, b = _saved(tmp_path, "a", 0), _saved(tmp_path, "b", 1)
    out = tmp_path / "mean.safetensors"
    done = _tool("average_weights.py", out, f"{a}:3", f"{b}:1", "--name", "mean")
    assert done.returncode == 0, done.stderr
    sa, sb, sm = (load_model(p).state_dict() for p in (a, b, out))
    for k in sm:
        assert torch.allclose(sm[k].float(), 0.75 * sa[k].float() + 0.25 * sb[k].float(), atol=2e-3), k
    averaged = read_metadata(out)["provenance"]["averaged"]
    assert [x["weight"] for x in averaged] == [3.0, 1.0]


def test_average_weights_refuses_other_layouts_and_existing_outputs(tmp_path: Path) -> None:
    a = _saved(tmp_path, "a", 0)
    other = _saved(tmp_path, "other", 1, {**SKIPS, "dec_widths": [16, 8, 8, 4]})
    done = _tool("average_weights.py", tmp_path / "x.safetensors", f"{a}:1", f"{other}:1", "--name", "x")
    assert done.returncode != 0 and "do not share one layout" in done.stderr
    done = _tool("average_weights.py", a, f"{a}:1", f"{other}:1", "--name", "x")
    assert done.returncode != 0 and "new file" in done.stderr
    assert not (tmp_path / "x.safetensors").exists()


@pytest.mark.parametrize("gain", [0.0, 0.65])
def test_scale_skips_scales_only_the_skip_projections(tmp_path: Path, gain: float) -> None:
    a = _saved(tmp_path, "a", 0)
    out = tmp_path / "scaled.safetensors"
    done = _tool("scale_skips.py", a, out, "--gain", gain, "--name", "scaled")
    assert done.returncode == 0, done.stderr
    before, after = load_model(a).state_dict(), load_model(out).state_dict()
    scaled = [k for k in after if ".skips." in k and k.endswith("proj.weight")]
    assert len(scaled) == 2
    for k in after:
        want = before[k].float() * (gain if k in scaled else 1.0)
        assert torch.allclose(after[k].float(), want, atol=1e-3), k
    assert read_metadata(out)["provenance"]["skip_gain"] == gain


def test_prune_dead_channels_keeps_the_pictures(monkeypatch: pytest.MonkeyPatch) -> None:
    """Channels that can never fire, cut from a level with a skip, one without (its zeros put back by the
    decoder) and a separable one, with residual blocks and FiLM rows to move: the same output."""
    import importlib.util

    monkeypatch.syspath_prepend(str(TOOLS))  # the tool imports its sibling weight_files, as when run as a script
    spec = importlib.util.spec_from_file_location("prune_dead_channels", TOOLS / "prune_dead_channels.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    torch.manual_seed(0)
    config = {**SKIPS, "dec_res_blocks": 1, "dec_res_width": 8, "dec_style_film": True,
              "dec_widths": [16, 8, 8, 8]}
    model = build("sctnet-mobile", config).eval()
    for p in model.decoder.parameters():
        p.data.normal_(0, 0.3)
    dead = {0: [1, 5, 6, 12], 1: [0, 3, 7], 3: [2, 4]}  # level 1 has the b2 skip, level 3 is separable
    peaks = []
    with torch.no_grad():
        for i, lvl in enumerate(model.decoder.body):
            conv = tool.level_convs(lvl)[-1]
            conv.bias[dead.get(i, [])] = -1e4  # never fires, whatever the input
            peak = torch.ones(conv.out_channels)
            peak[dead.get(i, [])] = -1.0
            peaks.append(peak)
    pruned, live = tool.prune(model, peaks, margin=0.05, min_share=0.25)
    assert live == [12, 5, 8, 6]
    assert pruned.decoder.body[1][-2].out_channels == 5
    x, style = torch.rand(1, 3, 64, 96), torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        a, b = model.encode_style(style), pruned.encode_style(style)
        ya, yb = model(x, a.sigma, a.mean, 0.8), pruned(x, b.sigma, b.mean, 0.8)
    assert ya.abs().max() > 0.1
    assert torch.allclose(ya, yb, atol=1e-4 * float(ya.abs().max())), float((ya - yb).abs().max())
    with pytest.raises(tool.VStyleError, match="already pruned"):
        tool.prune(pruned, peaks, margin=0.05, min_share=0.25)
