"""Speed and memory of rnnbook's torch layers against torch.nn, as ratios measured in one run.

For each cell (RNN, LSTM, GRU) we time a forward pass and a forward+backward pass of
``rnnbook.torch.<Cell>`` and of ``torch.nn.<Cell>`` (cuDNN on an NVIDIA GPU, its own fused
CPU kernels otherwise) on the same inputs, and report the median time of each and the ratio
ours / torch.nn. On CUDA it also reports the peak memory of forward+backward.

    python benchmarks/bench_layers.py                 # the best device available
    python benchmarks/bench_layers.py --device cpu --T 50 --B 32 --H 128

The table is printed and saved to benchmarks/results/layers_<device>_T<T>_B<B>_H<H>.md. Ratios, not absolute
times, are what carries over between machines.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch

import rnnbook.torch
from rnnbook.device import describe, get_device
from rnnbook.state import from_torch_nn

CELLS = ("RNN", "LSTM", "GRU")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_ms(fn, device: torch.device, repeats: int, warmup: int = 3) -> float:
    """The median wall time of ``fn()`` in milliseconds, synchronising the GPU around each call."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(1e3 * (time.perf_counter() - start))
    return statistics.median(times)


def peak_mib(fn, device: torch.device) -> float | None:
    """Peak GPU memory allocated during ``fn()``, in MiB, above what was allocated before (CUDA only)."""
    if device.type != "cuda":
        return None
    _sync(device)
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    fn()
    _sync(device)
    return (torch.cuda.max_memory_allocated(device) - base) / 2**20


def bench_cell(cell: str, T: int, B: int, D: int, H: int, device: torch.device, repeats: int) -> dict:
    torch.manual_seed(0)
    ref = getattr(torch.nn, cell)(D, H).to(device)
    ours = getattr(rnnbook.torch, cell)(D, H, device=device)
    ours.load_state_dict(from_torch_nn(ref.state_dict()))
    X = torch.randn(T, B, D, device=device, requires_grad=True)
    row = {"cell": cell}
    for name, layer in (("torch.nn", ref), ("rnnbook", ours)):
        def forward(layer=layer):
            with torch.no_grad():
                layer(X)

        def train_step(layer=layer):
            Y, _ = layer(X)
            Y.sum().backward()

        row[f"{name} fwd ms"] = median_ms(forward, device, repeats)
        row[f"{name} fwd+bwd ms"] = median_ms(train_step, device, repeats)
        row[f"{name} MiB"] = peak_mib(train_step, device)
        layer.zero_grad(set_to_none=True)
    row["fwd ratio"] = row["rnnbook fwd ms"] / row["torch.nn fwd ms"]
    row["fwd+bwd ratio"] = row["rnnbook fwd+bwd ms"] / row["torch.nn fwd+bwd ms"]
    if device.type == "cuda":
        row["memory ratio"] = row["rnnbook MiB"] / row["torch.nn MiB"]
    return row


def to_markdown(rows: list[dict], header: str) -> str:
    cols = [c for c in rows[0] if rows[0][c] is not None]
    fmt = lambda v: f"{v:.2f}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = [header, "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    parser.add_argument("--T", type=int, default=100, help="sequence length")
    parser.add_argument("--B", type=int, default=64, help="batch size")
    parser.add_argument("--D", type=int, default=None, help="input size (default: H)")
    parser.add_argument("--H", type=int, default=256, help="hidden size")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    device = get_device(args.device)
    D = args.D or args.H
    rows = [bench_cell(c, args.T, args.B, D, args.H, device, args.repeats) for c in CELLS]
    header = (f"## rnnbook.torch vs torch.nn on {describe(device)}\n\n"
              f"T={args.T}, B={args.B}, D={D}, H={args.H}, float32, median of {args.repeats}; "
              f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
              f"{torch.get_num_threads()} CPU threads. Ratio = rnnbook / torch.nn (lower is better).")
    table = to_markdown(rows, header)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"layers_{device.type}_T{args.T}_B{args.B}_H{args.H}.md"
    path.write_text(table)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
