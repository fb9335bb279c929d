"""A training step of minGRU against sequence length: the sequential loop against the parallel scan (chapter 12).

For each T, one minGRU layer (``rnnbook.torch.scan.MinGRU``, B=16, D=H=128 by default, float32) runs
forward and backward (``(Y * dY).sum().backward()`` with a fixed ``dY``) in three ways, and
``torch.nn.GRU`` (cuDNN on a GPU) of the same size runs the same step for reference:

- ``sequential``: ``mode="sequential"``, a Python loop over ``step``, one time step after another
  (what generation runs);
- ``hoisted loop``: the gates of every step computed at once, then only the recurrence
  ``h_t = a_t h_{t-1} + b_t`` looped (``linear_recurrence``): the fairest sequential contender;
- ``parallel``: ``mode="parallel"``, the log-space scan (cumsum and logcumsumexp over time);
- ``torch.nn.GRU``: a full GRU (recurrent weights, so it cannot be scanned), for scale.

All contenders are timed in alternation after a warm-up (``harness.time_interleaved``, CUDA events
on a GPU); the speedups are ratios within one run. Results go to
``benchmarks/results/scan_<device>.{json,md,png}`` with their provenance.

    python benchmarks/bench_scan.py                       # CPU: T = 64 .. 4096 (about a minute); GPU: 64 .. 16384
    python benchmarks/bench_scan.py --T 64,512,4096 --B 8 --H 256 --repeats 5
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from harness import bench_device, bench_parser, load_average, provenance_info, save_figure, save_results, set_tf32, time_interleaved
from rnnbook.device import describe
from rnnbook.torch.scan import MinGRU, linear_recurrence

CPU_T = (64, 256, 1024, 4096)
GPU_T = (64, 256, 512, 1024, 4096, 16384)


def bench_T(T: int, B: int, H: int, device: torch.device, repeats: int, warmup: int) -> list[dict]:
    """Time one forward+backward step of each contender at length T; one row per contender."""
    torch.manual_seed(0)
    layer = MinGRU(H, H, device=device)
    gru = torch.nn.GRU(H, H, device=device)
    X = torch.randn(T, B, H, device=device)
    dY = torch.randn(T, B, H, device=device)

    def minrnn(mode: str) -> None:
        layer.mode = mode
        Y, _ = layer(X)
        (Y * dY).sum().backward()

    def hoisted() -> None:
        log_a, log_b = layer.coefficients(X)                    # every step's gates at once (T, B, H)
        Y = linear_recurrence(log_a.exp(), log_b.exp())         # then h_t = a_t h_{t-1} + b_t, one step at a time
        (Y * dY).sum().backward()

    def torch_gru() -> None:
        Y, _ = gru(X)
        (Y * dY).sum().backward()

    fns = {"sequential": lambda: minrnn("sequential"), "hoisted loop": hoisted,
           "parallel": lambda: minrnn("parallel"), "torch.nn.GRU": torch_gru}
    times = time_interleaved(fns, device, repeats, warmup)
    par = times["parallel"].median
    return [{"T": T, "B": B, "H": H, "contender": name, "fwd+bwd ms": t.median, "IQR/median": t.spread,
             "time / parallel": t.median / par} for name, t in times.items()]


def plot_times(rows: list[dict], path: Path) -> None:
    """Time of a training step against T, one line per contender, log-log."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name in dict.fromkeys(r["contender"] for r in rows):
        pts = [(r["T"], r["fwd+bwd ms"]) for r in rows if r["contender"] == name]
        ax.loglog(*zip(*pts), "o-", label=name)
    ax.set(xlabel="sequence length T (steps)", ylabel="forward+backward time (ms)",
           title="minGRU: sequential loop against parallel scan")
    ax.legend(fontsize=8)
    save_figure(fig, path)


def main() -> None:
    parser = bench_parser(__doc__, repeats=3)
    parser.add_argument("--T", default=None, metavar="T1,T2,...",
                        help=f"lengths (default {CPU_T} on a CPU, {GPU_T} on a GPU)")
    parser.add_argument("--B", type=int, default=16, help="batch size")
    parser.add_argument("--H", type=int, default=128, help="hidden and input size")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls per contender first")
    args = parser.parse_args()
    device = bench_device(args)
    tf32 = set_tf32(False)
    print(f"device: {describe(device)}; TF32: {tf32}", file=sys.stderr)
    lengths = [int(t) for t in args.T.split(",")] if args.T else list(CPU_T if device.type == "cpu" else GPU_T)
    load_before = load_average()
    rows: list[dict] = []
    for T in lengths:
        rows += bench_T(T, args.B, args.H, device, args.repeats, args.warmup)
        print(f"T={T} done", file=sys.stderr, flush=True)
    title = (f"## minGRU training step: sequential loop against parallel scan on {describe(device)}\n\n"
             f"float32, TF32 off, B={args.B}, D=H={args.H}; forward+backward, median of {args.repeats} interleaved "
             f"repeats after {args.warmup} warm-up call(s) each. time / parallel > 1: the scan is that many times faster.")
    save_results(rows, title, provenance_info(device, load_before), f"scan_{device.type}", args.label, args.out,
                 plot=plot_times)


if __name__ == "__main__":
    main()
