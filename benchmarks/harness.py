"""The benchmark harness: the timing, table and provenance helpers every ``bench_*.py`` script shares.

One harness for all benchmarks (``bench_layers.py``, ``bench_text.py``, ``bench_ladder.py``,
``bench_memory.py``): contenders are timed in alternation after a warm-up (:func:`time_interleaved`,
CUDA events on a GPU) so that a change of machine load hits all of them alike; results are medians
with their spread; TF32 is set the same for every contender and recorded (:func:`set_tf32`);
memory is the peak allocated on CUDA (:func:`peak_mib`) and, on any device, the bytes autograd
saves for the backward pass (:func:`rnnbook.torch.recompute.saved_bytes`, exact). Tables are markdown with their provenance
(:func:`provenance`: device, versions, threads, TF32, load average, date, command), saved under
``benchmarks/results/`` (:func:`save_table`, or :func:`save_results` for JSON + markdown + plot).
Ratios measured in one run, not absolute times, are what carries over between machines.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

import rnnbook
from rnnbook.device import describe, get_device
from rnnbook.torch.recompute import saved_bytes  # noqa: F401  (the memory measure, re-exported for the scripts)

RESULTS = Path(__file__).parent / "results"


def bench_parser(doc: str, repeats: int, device_help: str = "cuda, mps or cpu (default: the best available)"
                 ) -> argparse.ArgumentParser:
    """The options every benchmark script takes, its own to be added: ``--device``, ``--repeats`` (the
    median of that many timed repeats), ``--threads``, ``--label`` (appended to the result file's name)
    and ``--out``. The description is the first paragraph of the script's docstring ``doc``."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--device", default=None, help=device_help)
    parser.add_argument("--repeats", type=int, default=repeats, help="timed repeats per contender (median)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--label", default="", help="appended to the result file's name")
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser


def bench_device(args: argparse.Namespace) -> torch.device:
    """The device ``--device`` names (or the best available), with torch's CPU threads set to ``--threads``."""
    torch.set_num_threads(args.threads)
    return get_device(args.device)


def save_figure(fig: Any, path: Path) -> None:
    """Lay out, save at 100 dpi, and close (a script makes many figures in one process)."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass(frozen=True)
class Timing:
    """The times of one contender's repeats, in milliseconds: median and spread."""

    median: float
    q25: float      # first quartile
    q75: float      # third quartile
    low: float      # fastest repeat
    high: float     # slowest repeat
    repeats: int

    @classmethod
    def of(cls, times_ms: Iterable[float]) -> Timing:
        """The summary of a list of repeat times (at least one)."""
        t = sorted(times_ms)
        if not t:
            raise ValueError("times_ms must hold at least one time, got none")
        q = statistics.quantiles(t, n=4, method="inclusive") if len(t) > 1 else [t[0]] * 3
        return cls(median=statistics.median(t), q25=q[0], q75=q[2], low=t[0], high=t[-1], repeats=len(t))

    @property
    def spread(self) -> float:
        """The interquartile range relative to the median (0.1: the middle half of the repeats within 10%)."""
        return (self.q75 - self.q25) / self.median if self.median > 0 else float("nan")


def _timer(device: torch.device) -> Callable[[Callable[[], None]], float]:
    """A function that runs ``fn()`` once and returns its time in ms: CUDA events on a GPU (the time
    the GPU spent between the two events, launched around the call), the wall clock elsewhere."""
    if device.type == "cuda":
        def timed(fn: Callable[[], None]) -> float:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end)
        return timed

    def timed_wall(fn: Callable[[], None]) -> float:
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        return 1e3 * (time.perf_counter() - start)
    return timed_wall


def time_interleaved(fns: dict[str, Callable[[], None]], device: torch.device, repeats: int,
                     warmup: int = 1) -> dict[str, Timing]:
    """Time each ``fn()`` ``repeats`` times, the functions run in turn each repeat, after ``warmup`` calls each.

    The order alternates between repeats, so neither contender is always first after the other.
    On CUDA each call is timed with CUDA events; elsewhere with the wall clock around the call.
    Warm-up absorbs one-time costs (cuDNN's algorithm search, ``torch.compile``'s compilation,
    allocator growth), which are not part of the steady-state time reported.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0, got repeats={repeats}, warmup={warmup}")
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    sync(device)
    timed = _timer(device)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for r in range(repeats):
        for name in (list(fns) if r % 2 == 0 else list(reversed(fns))):
            times[name].append(timed(fns[name]))
    return {name: Timing.of(t) for name, t in times.items()}


def interleaved_median_ms(fns: dict[str, Callable[[], None]], device: torch.device, repeats: int,
                          warmup: int = 1) -> dict[str, float]:
    """The median time of each ``fn()`` in milliseconds, from :func:`time_interleaved`."""
    return {name: t.median for name, t in time_interleaved(fns, device, repeats, warmup).items()}


def set_tf32(enabled: bool) -> dict[str, bool]:
    """Set TF32 for both cuDNN and cuBLAS matrix products to ``enabled``, and return the settings.

    By default torch lets cuDNN (``torch.nn.LSTM`` on a GPU) use TF32 and keeps cuBLAS (every
    ``@`` of our layers) in full float32: a comparison at the defaults pits TF32 against float32.
    Setting both the same makes the contenders do the same arithmetic. (No effect on a CPU.)
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be a bool, got {type(enabled).__name__}")
    torch.backends.cudnn.allow_tf32 = enabled
    torch.backends.cuda.matmul.allow_tf32 = enabled
    return tf32_settings()


def tf32_settings() -> dict[str, bool]:
    """The two TF32 switches as they are now."""
    return {"cudnn.allow_tf32": bool(torch.backends.cudnn.allow_tf32),
            "cuda.matmul.allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32)}


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


def provenance_info(device: torch.device, load_before: tuple[float, ...]) -> dict[str, Any]:
    """Where, when and how the numbers were measured: device, versions, threads, TF32, load, date, command."""
    pkg = Path(rnnbook.__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=pkg, capture_output=True,
                             text=True, timeout=10).stdout.strip() or "not a git checkout"
    except (OSError, subprocess.SubprocessError):
        rev = "git unavailable"
    env = " ".join(f"{k}={os.environ[k]}" for k in ("PYTHONPATH", "OMP_NUM_THREADS") if k in os.environ)
    info: dict[str, Any] = {
        "device": describe(device),
        "device_type": device.type,
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "rnnbook": f"{pkg} ({rev})",
        "tf32": tf32_settings(),
        "load_before": list(load_before),
        "load_after": list(load_average()),
        "date": f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "command": " ".join(filter(None, [env, "python", *map(shlex.quote, sys.argv)])),
    }
    return info


def provenance_markdown(info: dict[str, Any]) -> str:
    """:func:`provenance_info` as a markdown list."""
    fmt_load = lambda load: ", ".join(f"{x:.2f}" for x in load) or "n/a"  # noqa: E731
    libs = f"torch {info['torch']}, numpy {info['numpy']}, Python {info['python']}"
    if info.get("cuda"):
        libs += f", CUDA {info['cuda']}, cuDNN {info['cudnn']}"
    tf32 = ", ".join(f"{k}={v}" for k, v in info["tf32"].items())
    return "\n".join([
        f"- device: {info['device']}; {info['processor']}, {info['cpu_count']} cores; "
        f"{info['torch_threads']} torch thread(s)",
        f"- {libs}",
        f"- TF32: {tf32}" + (" (no effect on a CPU)" if info["device_type"] == "cpu" else ""),
        f"- rnnbook from {info['rnnbook']}",
        f"- load average (1, 5, 15 min): {fmt_load(info['load_before'])} before, "
        f"{fmt_load(info['load_after'])} after",
        f"- date: {info['date']}",
        f"- command: `{info['command']}`",
    ])


def provenance(device: torch.device, load_before: tuple[float, ...]) -> str:
    """Where, when and how the numbers were measured, as a markdown list."""
    return provenance_markdown(provenance_info(device, load_before))


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


def save_results(rows: list[dict], title: str, info: dict[str, Any], name: str, label: str = "",
                 out: Path = RESULTS, plot: Callable[[list[dict], Path], None] | None = None) -> dict[str, Path]:
    """Write the rows as ``<name>.json`` (title, provenance, rows) and ``<name>.md`` (the table), and
    ``<name>.png`` if ``plot(rows, path)`` is given; print the table. Return the paths by suffix.

    Raises
    ------
    ValueError
        If ``rows`` is empty or its rows do not share the same keys.
    """
    if not rows:
        raise ValueError("rows must hold at least one result, got none")
    if any(list(r) != list(rows[0]) for r in rows):
        raise ValueError(f"every row must have the keys of the first, {list(rows[0])}")
    stem = f"{name}{'_' + label if label else ''}"
    out.mkdir(parents=True, exist_ok=True)
    paths = {"md": save_table(to_markdown(rows, title + "\n\n" + provenance_markdown(info)), stem, out=out)}
    paths["json"] = out / f"{stem}.json"
    paths["json"].write_text(json.dumps({"title": title, "provenance": info, "rows": rows}, indent=1) + "\n")
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        paths["png"] = out / f"{stem}.png"
        plot(rows, paths["png"])
    return paths


def load_results(path: Path) -> dict[str, Any]:
    """A results file written by :func:`save_results`: ``{"title", "provenance", "rows"}``.

    Raises
    ------
    ValueError
        If the file lacks one of those keys.
    """
    data = json.loads(Path(path).read_text())
    missing = {"title", "provenance", "rows"} - set(data)
    if missing:
        raise ValueError(f"{path} is not a benchmark result: it lacks {sorted(missing)}")
    return data
