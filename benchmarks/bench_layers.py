"""Speed and memory of rnnbook's torch layers against torch.nn, as ratios measured in one run.

For each cell (RNN, LSTM, GRU) we time a forward pass and a forward+backward pass of
``rnnbook.torch.<Cell>`` and of ``torch.nn.<Cell>`` (cuDNN on an NVIDIA GPU, its own fused
CPU kernels otherwise) on the same inputs, and report the median time of each and the ratio
ours / torch.nn. On CUDA it also reports the peak memory of forward+backward. The two contenders
are timed in alternation (interleaved repeats), so a change of machine load hits both alike.

    python benchmarks/bench_layers.py                 # one size, the best device available
    python benchmarks/bench_layers.py --device cpu --T 50 --B 32 --H 128
    python benchmarks/bench_layers.py --device cpu --sweep-T 25,50,100,200,400,1000 --repeats 5

``--sweep-T`` times forward+backward only, for each T of the list, and tabulates the ratio against
T: a ratio that grows with T means our backward is no longer linear in T (issue 9 found a T^2
one, from indexing the input projection step by step).

The table is printed and saved to benchmarks/results/ (``layers_<device>_T<T>_B<B>_H<H>.md``, or
``layers_sweepT_<device>_B<B>_H<H>.md``; ``--label`` appends to the name), with its provenance:
device, versions, thread count, machine load, date and command. Ratios, not absolute times, are
what carries over between machines.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import torch

import rnnbook.torch
from harness import bench_device, bench_parser, interleaved_median_ms, load_average, peak_mib, provenance, save_table, to_markdown
from rnnbook.device import describe
from rnnbook.state import from_torch_nn

CELLS = ("RNN", "LSTM", "GRU")


def contenders(cell: str, T: int, B: int, D: int, H: int, device: torch.device
               ) -> dict[str, tuple[Callable[[], None], Callable[[], None]]]:
    """``torch.nn.<cell>`` and ``rnnbook.torch.<cell>`` with the same weights, each as
    (forward without autograd, forward+backward) closures on the same input."""
    torch.manual_seed(0)
    ref = getattr(torch.nn, cell)(D, H).to(device)
    ours = getattr(rnnbook.torch, cell)(D, H, device=device)
    ours.load_state_dict(from_torch_nn(ref.state_dict()))
    X = torch.randn(T, B, D, device=device, requires_grad=True)
    out = {}
    for name, layer in (("torch.nn", ref), ("rnnbook", ours)):
        def forward(layer: torch.nn.Module = layer) -> None:
            with torch.no_grad():
                layer(X)

        def train_step(layer: torch.nn.Module = layer) -> None:
            layer.zero_grad(set_to_none=True)
            X.grad = None
            Y, _ = layer(X)
            Y.sum().backward()

        out[name] = (forward, train_step)
    return out


def bench_cell(cell: str, T: int, B: int, D: int, H: int, device: torch.device, repeats: int) -> dict:
    """One row of the one-size table: forward and forward+backward times, ratios, GPU memory."""
    pair = contenders(cell, T, B, D, H, device)
    fwd = interleaved_median_ms({name: f for name, (f, _) in pair.items()}, device, repeats)
    both = interleaved_median_ms({name: s for name, (_, s) in pair.items()}, device, repeats)
    row: dict = {"cell": cell}
    for name in pair:
        row[f"{name} fwd ms"] = fwd[name]
        row[f"{name} fwd+bwd ms"] = both[name]
        row[f"{name} MiB"] = peak_mib(pair[name][1], device)
    row["fwd ratio"] = row["rnnbook fwd ms"] / row["torch.nn fwd ms"]
    row["fwd+bwd ratio"] = row["rnnbook fwd+bwd ms"] / row["torch.nn fwd+bwd ms"]
    if device.type == "cuda":
        row["memory ratio"] = row["rnnbook MiB"] / row["torch.nn MiB"]
    return row


def sweep_row(T: int, B: int, D: int, H: int, device: torch.device, repeats: int) -> dict:
    """One row of the sweep table: forward+backward times and ratio of every cell at length T."""
    row: dict = {"T": T}
    for cell in CELLS:
        pair = contenders(cell, T, B, D, H, device)
        both = interleaved_median_ms({name: s for name, (_, s) in pair.items()}, device, repeats)
        row[f"{cell} torch.nn ms"] = both["torch.nn"]
        row[f"{cell} rnnbook ms"] = both["rnnbook"]
        row[f"{cell} ratio"] = both["rnnbook"] / both["torch.nn"]
    return row


def main() -> None:
    parser = bench_parser(__doc__, repeats=10)
    parser.add_argument("--T", type=int, default=100, help="sequence length")
    parser.add_argument("--sweep-T", default=None, metavar="T1,T2,...",
                        help="time forward+backward at each of these sequence lengths instead")
    parser.add_argument("--B", type=int, default=64, help="batch size")
    parser.add_argument("--D", type=int, default=None, help="input size (default: H)")
    parser.add_argument("--H", type=int, default=256, help="hidden size")
    args = parser.parse_args()
    device = bench_device(args)
    D = args.D or args.H
    load_before = load_average()
    sizes = f"B={args.B}, D={D}, H={args.H}, float32, median of {args.repeats} interleaved repeats"
    if args.sweep_T:
        Ts = [int(t) for t in args.sweep_T.split(",")]
        rows = []
        for T in Ts:
            rows.append(sweep_row(T, args.B, D, args.H, device, args.repeats))
            print(f"T={T} done", file=sys.stderr, flush=True)
        title = (f"## rnnbook.torch vs torch.nn on {describe(device)}: forward+backward against T\n\n"
                 f"T in {Ts}, {sizes}. Ratio = rnnbook / torch.nn (lower is better); "
                 f"a ratio that grows with T means a backward pass superlinear in T.")
        name = f"layers_sweepT_{device.type}_B{args.B}_H{args.H}"
    else:
        rows = [bench_cell(c, args.T, args.B, D, args.H, device, args.repeats) for c in CELLS]
        title = (f"## rnnbook.torch vs torch.nn on {describe(device)}\n\n"
                 f"T={args.T}, {sizes}. Ratio = rnnbook / torch.nn (lower is better).")
        name = f"layers_{device.type}_T{args.T}_B{args.B}_H{args.H}"
    save_table(to_markdown(rows, title + "\n\n" + provenance(device, load_before)), name, args.label, args.out)


if __name__ == "__main__":
    main()
