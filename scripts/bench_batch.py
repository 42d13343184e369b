"""Batch throughput: the local ``vstyle batch`` vs ``vstyle batch --ray`` with 1 and 2 workers, one run
each, side by side on the same folder, and what the numbers imply per added node.

Each configuration is the real command in a subprocess (``--json``), on the same input folder
(links to the clips), writing to its own output folder. Reported per configuration: wall seconds
(including, for Ray, starting a local cluster), frames per second over the wall time, and for Ray
the time to start (cluster, path check, style code, planning) and the time working (the scheduling
loop), from the ``--json`` summary. On a shared machine run-to-run noise is large: compare the
ratios of one run, not absolute numbers across runs.

    python scripts/bench_batch.py                                  # examples/bunny.mp4 + ../shared/data/video
    python scripts/bench_batch.py --max-size 256 --duration 5 --segment-seconds 2
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INPUTS = [ROOT / "examples" / "bunny.mp4", *sorted((ROOT.parent / "shared" / "data" / "video").glob("*.mp4"))]
DEFAULT_STYLE = ROOT / "examples" / "great_wave.jpg"


def frame_count(folder: Path) -> int:
    """Video frames written under ``folder`` (counted from the packets, without decoding)."""
    import av

    total = 0
    for path in folder.rglob("*.mp4"):
        with av.open(str(path)) as c:
            total += sum(1 for p in c.demux(video=0) if p.size)
    return total


def run(name: str, args: list[str]) -> dict:
    """One configuration: the command's wall time and its ``--json`` summary."""
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "vstyle", *args, "--json"], capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{name} failed (exit {p.returncode}):\n{p.stderr[-2000:]}")
    return {"name": name, "seconds": seconds, "summary": json.loads(p.stdout)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inputs", type=Path, nargs="+", default=DEFAULT_INPUTS, help="clips to put in the folder")
    ap.add_argument("--style", type=Path, default=DEFAULT_STYLE)
    ap.add_argument("--model", default=None, help="model name or file [default: the shipped model]")
    ap.add_argument("--max-size", type=int, default=256)
    ap.add_argument("--duration", type=float, default=5.0, help="seconds of each clip (0 = whole clips)")
    ap.add_argument("--segment-seconds", type=float, default=2.0)
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    a = ap.parse_args()

    duration = a.duration or None
    with tempfile.TemporaryDirectory(prefix="vstyle-bench-batch-") as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        for p in a.inputs:
            (src / p.name).symlink_to(p.resolve())
        common = ["--style", str(a.style), "--max-size", str(a.max_size)]
        common += ["--duration", str(duration)] if duration else []
        common += ["--model", a.model] if a.model else []
        ray = ["--ray", "--segment-seconds", str(a.segment_seconds)]
        configs = [("local batch", []), ("ray, 1 worker", [*ray, "--workers", "1"]),
                   ("ray, 2 workers", [*ray, "--workers", "2"])]
        results = []
        for i, (name, extra) in enumerate(configs):
            results.append(run(name, ["batch", str(src), str(Path(tmp) / f"out{i}"), *common, *extra]))
            print(f"{name}: {results[-1]['seconds']:.1f} s", file=sys.stderr)
        frames = frame_count(Path(tmp) / "out0")  # what the local batch stylised (the same for all)

    local = results[0]["seconds"]
    rows = []
    for r in results:
        info = r["summary"].get("ray", {})
        working = info.get("seconds_working")
        rows.append({"config": r["name"], "files": r["summary"]["ok"], "frames": frames,
                     "seconds": round(r["seconds"], 1), "fps": round(frames / r["seconds"], 2),
                     "vs_local": round(local / r["seconds"], 2),
                     "seconds_to_start": info.get("seconds_to_start"), "seconds_working": working,
                     "fps_working": round(frames / working, 2) if working else None,
                     "segmented_files": len(info.get("segmented", {})) if info else None})
    one, two = rows[1], rows[2]
    implied = {
        # What one more worker adds, measured here where both share 2 cores: on a cluster each
        # added GPU node brings its own device, so the per-worker rate is the one to multiply.
        "fps_per_worker": one["fps_working"],
        "second_worker_gain": round(two["fps_working"] / one["fps_working"], 2),
        "fixed_start_seconds": one["seconds_to_start"],
    }
    from vstyle.hostinfo import cpu_name

    machine = f"{cpu_name()}, {os.cpu_count()} CPUs"
    out = {"date": datetime.date.today().isoformat(), "machine": machine, "inputs": [p.name for p in a.inputs],
           "max_size": a.max_size, "duration": duration, "segment_seconds": a.segment_seconds, "rows": rows,
           "implied": implied}
    if a.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{out['date']}, {machine}; {len(a.inputs)} clips, {frames} frames, --max-size {a.max_size}, "
          f"{rows[1]['segmented_files']} clips segmented")
    print("| config | wall s | FPS (wall) | vs local | start s | working s | FPS (working) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['config']} | {r['seconds']} | {r['fps']} | {r['vs_local']}x | {r['seconds_to_start'] or '–'} | "
              f"{r['seconds_working'] or '–'} | {r['fps_working'] or '–'} |")
    print(json.dumps(implied))


if __name__ == "__main__":
    main()
