"""Training memory of an LSTM against T, with and without recomputation across time chunks, and its time.

For each T, three ways to train ``rnnbook.torch.LSTM`` on one batch: plainly (autograd keeps every
step's activations), and with :func:`rnnbook.torch.recompute.recompute_forward` at chunks of
``K = round(sqrt(T))`` steps and of a fixed ``--chunk`` steps. Per way:

- ``saved MiB``: what autograd holds between the forward and the backward pass
  (:func:`rnnbook.torch.recompute.saved_bytes`: exact, the same on every device);
- ``+ one chunk MiB``: that plus the activations of one chunk, which the backward pass recomputes
  and holds while it goes through that chunk (measured the same way on one chunk of K steps): the
  activation peak of the recomputing way;
- ``peak MiB`` on CUDA: the peak allocated during forward+backward (``torch.cuda.max_memory_allocated``);
- ``fwd+bwd ms`` and ``time ratio``: the time of forward+backward, interleaved with the plain way,
  and their ratio (the price of recomputing: ideally about 4/3, one more forward per backward).

    python benchmarks/bench_memory.py                     # T 100..1600, B=16, H=128, the best device
    python benchmarks/bench_memory.py --T 100,1000,10000 --B 64 --H 512 --device cuda

Results go to ``benchmarks/results/memory_<device>_B<B>_H<H>.{json,md,png}`` with their provenance.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import torch

import rnnbook.torch
from harness import bench_device, bench_parser, load_average, peak_mib, provenance_info, save_figure, save_results, saved_bytes, set_tf32, time_interleaved
from rnnbook.device import describe
from rnnbook.torch.recompute import recompute_forward

MiB = 2**20


def measure(T: int, B: int, H: int, chunk: int, device: torch.device, repeats: int) -> list[dict]:
    """Rows for one T: plain, chunks of sqrt(T), chunks of ``chunk``."""
    torch.manual_seed(0)
    layer = rnnbook.torch.LSTM(H, H, device=device)
    X = torch.randn(T, B, H, device=device, requires_grad=True)
    dY = torch.randn(T, B, H, device=device)
    exclude = [*layer.parameters(), X]
    ways = {"plain": None, "recompute, K=sqrt(T)": max(1, round(math.sqrt(T))), f"recompute, K={chunk}": chunk}

    def forward(K: int | None) -> torch.Tensor:
        return layer(X)[0] if K is None else recompute_forward(layer, X, chunk=K)[0]

    def step(K: int | None) -> None:
        layer.zero_grad(set_to_none=True)
        X.grad = None
        forward(K).backward(dY)

    times = time_interleaved({name: (lambda K=K: step(K)) for name, K in ways.items()}, device, repeats)
    rows = []
    for name, K in ways.items():
        held = saved_bytes(lambda K=K: forward(K), exclude)
        one_chunk = 0 if K is None else saved_bytes(lambda K=K: layer(X[:min(K, T)])[0], exclude)
        rows.append({"T": T, "way": name, "K": K if K is not None else T,
                     "saved MiB": held / MiB, "+ one chunk MiB": (held + one_chunk) / MiB,
                     "peak MiB": peak_mib(lambda K=K: step(K), device),
                     "fwd+bwd ms": times[name].median, "time ratio": times[name].median / times["plain"].median})
    return rows


def plot_memory(rows: list[dict], path: Path) -> None:
    """Held activation memory against T (log-log), one line per way."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name in dict.fromkeys(r["way"] for r in rows):
        mine = [r for r in rows if r["way"] == name]
        ax.plot([r["T"] for r in mine], [r["+ one chunk MiB"] for r in mine], "o-", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("sequence length T (steps)")
    ax.set_ylabel("activations held (MiB)")
    ax.set_title("Training memory against T, with and without recomputation")
    ax.legend(fontsize=8)
    save_figure(fig, path)


def main() -> None:
    parser = bench_parser(__doc__, repeats=3)
    parser.add_argument("--T", default="100,200,400,800,1600", help="comma-separated sequence lengths")
    parser.add_argument("--B", type=int, default=16, help="batch size")
    parser.add_argument("--H", type=int, default=128, help="hidden and input size")
    parser.add_argument("--chunk", type=int, default=50, help="the fixed chunk length K (steps)")
    args = parser.parse_args()
    device = bench_device(args)
    set_tf32(False)
    load_before = load_average()
    rows = []
    for T in (int(t) for t in args.T.split(",")):
        rows += measure(T, args.B, args.H, args.chunk, device, args.repeats)
        print(f"T={T} done", file=sys.stderr, flush=True)
    title = (f"## Training memory against T on {describe(device)}, with and without recomputation\n\n"
             f"rnnbook.torch.LSTM, B={args.B}, D=H={args.H}, float32. saved MiB: what autograd holds "
             f"between forward and backward (exact); + one chunk: with the activations of the chunk being "
             f"recomputed; time ratio: forward+backward time / plain, median of {args.repeats} interleaved repeats.")
    save_results(rows, title, provenance_info(device, load_before), f"memory_{device.type}_B{args.B}_H{args.H}",
                 args.label, args.out, plot=plot_memory)


if __name__ == "__main__":
    main()
