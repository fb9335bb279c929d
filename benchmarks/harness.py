"""The benchmark harness: the timing, table and provenance helpers every ``bench_*.py`` script shares.

One harness for all benchmarks (``bench_layers.py``, ``bench_text.py``): contenders are timed in
alternation (:func:`interleaved_median_ms`) so that a change of machine load hits all of them alike,
results are medians, tables are markdown with their provenance (:func:`provenance`: device,
versions, threads, load average, date, command), saved under ``benchmarks/results/``
(:func:`save_table`). Ratios measured in one run, not absolute times, are what carries over
between machines.
"""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

import rnnbook
from rnnbook.device import describe

RESULTS = Path(__file__).parent / "results"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved_median_ms(fns: dict[str, Callable[[], None]], device: torch.device, repeats: int,
                          warmup: int = 1) -> dict[str, float]:
    """The median wall time of each ``fn()`` in milliseconds, the functions run in turn each repeat.

    The order alternates between repeats, so neither contender is always first after the other;
    the GPU is synchronised around each call.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    sync(device)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for r in range(repeats):
        for name in (list(fns) if r % 2 == 0 else list(reversed(fns))):
            start = time.perf_counter()
            fns[name]()
            sync(device)
            times[name].append(1e3 * (time.perf_counter() - start))
    return {name: statistics.median(t) for name, t in times.items()}


def peak_mib(fn: Callable[[], None], device: torch.device) -> float | None:
    """Peak GPU memory allocated during ``fn()``, in MiB, above what was allocated before (CUDA only)."""
    if device.type != "cuda":
        return None
    sync(device)
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    fn()
    sync(device)
    return (torch.cuda.max_memory_allocated(device) - base) / 2**20


def to_markdown(rows: list[dict], header: str) -> str:
    cols = [c for c in rows[0] if rows[0][c] is not None]
    fmt = lambda v: f"{v:.2f}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = [header, "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def provenance(device: torch.device, load_before: tuple[float, ...]) -> str:
    """Where, when and how the numbers were measured, as a markdown list."""
    pkg = Path(rnnbook.__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=pkg, capture_output=True,
                             text=True, timeout=10).stdout.strip() or "not a git checkout"
    except (OSError, subprocess.SubprocessError):
        rev = "git unavailable"
    env = " ".join(f"{k}={os.environ[k]}" for k in ("PYTHONPATH", "OMP_NUM_THREADS") if k in os.environ)
    command = " ".join(filter(None, [env, "python", *map(shlex.quote, sys.argv)]))
    load_after = os.getloadavg() if hasattr(os, "getloadavg") else ()
    fmt_load = lambda load: ", ".join(f"{x:.2f}" for x in load) or "n/a"  # noqa: E731
    return "\n".join([
        f"- device: {describe(device)}; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores; {torch.get_num_threads()} torch thread(s)",
        f"- torch {torch.__version__}, numpy {np.__version__}, Python {platform.python_version()}",
        f"- rnnbook from {pkg} ({rev})",
        f"- load average (1, 5, 15 min): {fmt_load(load_before)} before, {fmt_load(load_after)} after",
        f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- command: `{command}`",
    ])


def load_average() -> tuple[float, ...]:
    """The 1, 5 and 15 minute load averages (empty where the OS has none): pass it to :func:`provenance`."""
    return os.getloadavg() if hasattr(os, "getloadavg") else ()


def save_table(table: str, name: str, label: str = "", out: Path = RESULTS) -> Path:
    """Print ``table`` and write it to ``out/<name>[_<label>].md``; return the path."""
    print(table)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}{'_' + label if label else ''}.md"
    path.write_text(table)
    print(f"saved {path}")
    return path
