"""Joining or starting a Ray cluster, sizing the worker pool, and checking that every node sees IN and OUT."""

from __future__ import annotations

import logging
import os
import signal
import socket
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import VStyleError, exception_line
from ..flags import flag
from . import require_ray

#: How long a cluster's address may take to accept a connection (seconds).
_CONNECT_TIMEOUT_S = 5.0
#: How long the path check waits for every node to answer (seconds).
_CHECK_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Pool:
    """How many workers, and what each reserves: one GPU, or ``threads`` CPUs."""

    workers: int
    gpus_each: int
    threads: int
    nodes: int

    def actor_options(self) -> dict[str, Any]:
        """Ray resource options of one worker (and of the style-encoding task)."""
        return {"num_gpus": self.gpus_each, "num_cpus": self.threads}


def connect(address: str | None) -> Any:
    """Join the cluster at ``address`` (``auto``: the one this machine belongs to) or, with ``None``,
    start a local one; returns the ``ray`` module."""
    ray = require_ray()
    # Ray's own default for no address is to join the last cluster started on this machine (even
    # one long gone, where it waits): "local" always starts a fresh one, as `--ray` alone promises.
    # Ray puts its own handlers on SIGINT/SIGTERM (SIGTERM aborts the process); the batch's own
    # handling (stop the workers, clean up, exit 130/143) must stay in charge.
    if address is not None:
        _check_reachable(address)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        ray.init(address=address or "local", include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                 configure_logging=True)
    except Exception as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
        raise VStyleError(f"cannot reach {where}: {exception_line(exc)}") from None
    finally:
        for sig, handler in handlers.items():
            if handler is not None:
                signal.signal(sig, handler)
    return ray


def _check_reachable(address: str) -> None:
    """Fail in one line when nothing listens at the cluster's address: Ray itself would retry for
    minutes. ``auto`` is resolved as Ray resolves it: ``RAY_ADDRESS``, else the last cluster started
    on this machine; Ray Client addresses (``ray://``) are left to Ray."""
    target = address
    if address == "auto":
        latest = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"
        target = os.environ.get("RAY_ADDRESS") or (latest.read_text().strip() if latest.is_file() else "")
        if not target:
            raise VStyleError(f"{flag('ray_address')} auto: no Ray cluster on this machine (start one with "
                              "ray start --head, or give its address)")
    if "://" in target:
        return
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=_CONNECT_TIMEOUT_S):
            pass
    except (OSError, ValueError):
        raise VStyleError(f"cannot reach the Ray cluster at {address}" + (f" ({target})" if target != address else "")
                          + ": nothing answers there; is it started (ray start --head)?") from None


def size_pool(ray: Any, workers: int | None, threads: int | None, use_gpus: bool = True) -> Pool:
    """One worker per GPU by default (each with one GPU); on a CPU-only cluster (or with
    ``use_gpus=False``) one worker per node by default, each with ``threads`` CPUs (default: the
    cluster's CPUs shared out). Refuses a pool that cannot fit, since Ray would wait for it forever."""
    total = ray.cluster_resources()
    gpus, cpus = int(total.get("GPU", 0)) if use_gpus else 0, int(total.get("CPU", 0))
    nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
    if gpus:
        n = workers or gpus
        if n > gpus:
            raise VStyleError(f"{flag('workers')} {n}: the cluster has {gpus} GPUs (one worker per GPU)")
        return Pool(n, 1, threads or 1, nodes)
    n = workers or max(1, nodes)
    each = threads or max(1, cpus // n)
    if n * each > cpus:
        raise VStyleError(f"{flag('workers')} {n} × {flag('threads')} {each} needs {n * each} CPUs; "
                          f"the cluster has {cpus}")
    return Pool(n, 0, each, nodes)


def check_paths_on_every_node(ray: Any, pool: Pool, in_dir: Path, out_dir: Path, sample: Path) -> None:
    """Run a tiny task on every live node a worker of ``pool`` could be placed on: each must see IN
    (``sample`` in it) and the same OUT (a marker file written here must show up there) and be able
    to write to OUT."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from .worker import check_paths

    marker = out_dir / f".vstyle-ray-check-{uuid.uuid4().hex}"
    marker.write_bytes(b"")
    try:
        check = ray.remote(check_paths)
        nodes = [n for n in ray.nodes() if n.get("Alive") and _fits(n.get("Resources", {}), pool)]
        refs = {check.options(num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False))
                .remote(str(in_dir), str(out_dir), str(marker), str(sample)): n for n in nodes}
        ready, late = ray.wait(list(refs), num_returns=len(refs), timeout=_CHECK_TIMEOUT_S)
        problems = [f"node {refs[r]['NodeManagerAddress']} {ray.get(r)}" for r in ready if ray.get(r)]
        problems += [f"node {refs[r]['NodeManagerAddress']} did not answer the path check" for r in late]
    finally:
        marker.unlink(missing_ok=True)
    if problems:
        raise VStyleError("; ".join(problems) + " (IN and OUT must be on a filesystem every node mounts "
                          "at the same path)")


def _fits(resources: dict[str, float], pool: Pool) -> bool:
    """Whether a node with ``resources`` could hold a worker of ``pool`` (a CPU-less head node cannot)."""
    if pool.gpus_each:
        return resources.get("GPU", 0) >= pool.gpus_each
    return resources.get("CPU", 0) >= pool.threads
