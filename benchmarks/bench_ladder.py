"""Every rung of the optimisation ladder against torch.nn (cuDNN on a GPU), forward and forward+backward.

For each cell (LSTM, GRU) and size, each implementation ("rung") gets the weights of one
``torch.nn`` layer and the same input; we time a forward pass (no autograd) and a forward+backward
pass (``Y.backward(dY)`` with a fixed ``dY``), all contenders interleaved after a warm-up
(``harness.time_interleaved``: median and interquartile spread, CUDA events on a GPU), with TF32 set
the same for all (``--tf32``, default off) and recorded. Memory: the bytes autograd saves for the
backward pass (``harness.saved_bytes``, exact on every device) and, on CUDA, the peak allocated.

The contenders are ``torch.nn`` itself, ``rnnbook.torch``'s layers (the input projection hoisted out
of the loop, autograd's backward) and, when the package has it, every rung of
``rnnbook.torch.ladder`` that runs on the device (numbered as in the ladder).

    python benchmarks/bench_ladder.py                  # CPU: cpu-target, B=64, D=H=256, T=100; GPU: the reference + FlashRNN sizes
    python benchmarks/bench_ladder.py --size reference # T=100, B=64, D=H=512, float32
    python benchmarks/bench_ladder.py --size flashrnn --dtype bfloat16   # B=16, T=1024, H=768 (GPU only)
    python benchmarks/bench_ladder.py --size grid      # B 1/16/64/256 x H 128/512/1024 x T 100/1000
    python benchmarks/bench_ladder.py --sweep-T 50,100,200,400   # forward+backward ratio against T

Results go to ``benchmarks/results/ladder_<device>_<size>.{json,md,png}`` with their provenance.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import torch

import rnnbook.torch
from harness import bench_device, bench_parser, load_average, peak_mib, provenance_info, save_figure, save_results, saved_bytes, set_tf32, sync, time_interleaved
from rnnbook.device import describe
from rnnbook.state import from_torch_nn

#: Named sizes as (T, B, D, H) lists. "cpu-target" is the CPU target of issue 13; "reference" is PyTorch's
#: fastrnns setting; "flashrnn" is the setting of FlashRNN's benchmark (16-bit, GPU only).
SIZES = {
    "cpu-target": [(100, 64, 256, 256)],
    "reference": [(100, 64, 512, 512)],
    "flashrnn": [(1024, 16, 768, 768)],
    "grid": [(T, B, H, H) for T in (100, 1000) for B in (1, 16, 64, 256) for H in (128, 512, 1024)],
}
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16, "float64": torch.float64}
CELLS = ("LSTM", "GRU")

#: A rung: builds a layer with the ``torch.nn`` calling convention from a ``torch.nn`` layer (whose
#: weights it copies): ``make(cell, ref) -> module``.
Rung = Callable[[str, torch.nn.Module], torch.nn.Module]


def _premultiplied(cell: str, ref: torch.nn.Module) -> torch.nn.Module:
    p = ref.weight_ih_l0
    ours = getattr(rnnbook.torch, cell)(ref.input_size, ref.hidden_size, device=p.device, dtype=p.dtype)
    ours.load_state_dict(from_torch_nn(ref.state_dict()))
    return ours


def _ladder_rung(impl: str) -> Rung:
    def make(cell: str, ref: torch.nn.Module) -> torch.nn.Module:
        ladder = importlib.import_module("rnnbook.torch.ladder")
        p = ref.weight_ih_l0
        problem = ladder.rung_problem(impl, p.device)  # e.g. no torch.compile here: it would time rung 3 again
        if problem is not None:
            raise RuntimeError(f"cannot run as itself on {p.device.type}: {problem}")
        layer = getattr(ladder, f"Ladder{cell}")(ref.input_size, ref.hidden_size, impl=impl,
                                                 device=p.device, dtype=p.dtype)
        layer.load_state_dict(ref.state_dict())  # parameters named as torch.nn's
        return layer
    return make


def rungs() -> dict[str, Rung]:
    """The implementations to time, ``torch.nn`` first (the reference of every ratio): ``torch.nn``,
    ``rnnbook.torch``'s layers and, once the package has it, each rung of ``rnnbook.torch.ladder``."""
    found: dict[str, Rung] = {"torch.nn": lambda cell, ref: ref, "rnnbook.torch": _premultiplied}
    try:
        ladder = importlib.import_module("rnnbook.torch.ladder")
    except ImportError:
        return found
    for k, impl in enumerate(ladder.RUNGS, start=1):
        found[f"{k} {impl}"] = _ladder_rung(impl)
    return found


def contenders(cell: str, T: int, B: int, D: int, H: int, device: torch.device, dtype: torch.dtype,
               names: Iterable[str] | None = None
               ) -> tuple[torch.Tensor, dict[str, tuple[torch.nn.Module, Callable[[], None], Callable[[], None], float]]]:
    """The input ``X`` and each rung that runs here (of ``names``; default all) as (layer, forward without
    autograd, forward+backward, seconds of its first call): the first call, a forward and backward pass on
    two steps, pays what is paid once (``torch.compile``'s compilation, a CUDA graph's capture)."""
    torch.manual_seed(0)
    ref = getattr(torch.nn, cell)(D, H).to(device=device, dtype=dtype)
    X = torch.randn(T, B, D, device=device, dtype=dtype, requires_grad=True)
    dY = torch.randn(T, B, H, device=device, dtype=dtype)
    out = {}
    for name, make in rungs().items():
        if names is not None and name not in names:
            continue
        try:
            layer = make(cell, ref)
            start = time.perf_counter()
            layer(X[:2])[0].backward(dY[:2])  # a rung that cannot run here (CUDA-only on a CPU) says so now
            sync(device)
            first = time.perf_counter() - start
        except (ValueError, TypeError, RuntimeError, NotImplementedError) as err:
            print(f"skipped {name} ({cell}): {type(err).__name__}: {err}", file=sys.stderr)
            continue

        def forward(layer: torch.nn.Module = layer) -> None:
            with torch.no_grad():
                layer(X)

        def train_step(layer: torch.nn.Module = layer) -> None:
            layer.zero_grad(set_to_none=True)
            X.grad = None
            Y, _ = layer(X)
            Y.backward(dY)

        out[name] = (layer, forward, train_step, first)
    return X, out


def bench_size(cell: str, T: int, B: int, D: int, H: int, device: torch.device, dtype: torch.dtype,
               repeats: int, warmup: int, forward: bool = True, names: Iterable[str] | None = None) -> list[dict]:
    """One row per rung: times (median, spread), ratios to torch.nn, first call, saved MiB, GPU peak MiB."""
    X, here = contenders(cell, T, B, D, H, device, dtype, names)
    both = time_interleaved({n: c[2] for n, c in here.items()}, device, repeats, warmup)
    fwd = time_interleaved({n: c[1] for n, c in here.items()}, device, repeats, warmup) if forward else None
    rows = []
    for name, (layer, _, step, first) in here.items():
        try:
            held: float | None = saved_bytes(lambda layer=layer: layer(X)[0], exclude=[*layer.parameters(), X]) / 2**20
        except RuntimeError as err:  # e.g. a captured CUDA graph that refuses saved-tensor hooks
            print(f"saved bytes of {name} not measured: {err}", file=sys.stderr)
            held = None
        rows.append({
            "cell": cell, "T": T, "B": B, "D": D, "H": H, "rung": name,
            "fwd ms": fwd[name].median if fwd else None,
            "fwd ratio": fwd[name].median / fwd["torch.nn"].median if fwd else None,
            "fwd+bwd ms": both[name].median, "fwd+bwd IQR/median": both[name].spread,
            "fwd+bwd ratio": both[name].median / both["torch.nn"].median,
            "first call s": first, "saved MiB": held, "peak MiB": peak_mib(step, device),
        })
    return rows


def plot_ratios(rows: list[dict], path: Path) -> None:
    """Forward+backward time relative to torch.nn, one bar per rung and size (or one line against T)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    names = list(dict.fromkeys(r["rung"] for r in rows))
    sizes = list(dict.fromkeys((r["cell"], r["T"], r["B"], r["H"]) for r in rows))
    for k, name in enumerate(names):
        ratios = [next((r["fwd+bwd ratio"] for r in rows if r["rung"] == name
                        and (r["cell"], r["T"], r["B"], r["H"]) == s), float("nan")) for s in sizes]
        ax.bar([i + 0.8 * k / len(names) for i in range(len(sizes))], ratios, width=0.8 / len(names), label=name)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks([i + 0.4 - 0.4 / len(names) for i in range(len(sizes))],
                  [f"{c}\nT={T} B={B}\nH={H}" for c, T, B, H in sizes], fontsize=7)
    ax.set_ylabel("fwd+bwd time / torch.nn")
    ax.set_title("The ladder against torch.nn (lower is faster)")
    ax.legend(fontsize=7)
    save_figure(fig, path)


def main() -> None:
    parser = bench_parser(__doc__, repeats=5)
    parser.add_argument("--size", choices=sorted(SIZES), default=None,
                        help="named sizes (default: cpu-target on a CPU, reference and flashrnn on a GPU)")
    parser.add_argument("--sweep-T", default=None, metavar="T1,T2,...",
                        help="forward+backward only, at B=64, D=H=256 (or --B/--H) for each T")
    parser.add_argument("--B", type=int, default=64, help="batch size of --sweep-T")
    parser.add_argument("--H", type=int, default=256, help="hidden and input size of --sweep-T")
    parser.add_argument("--cells", default="LSTM,GRU", help="comma-separated, of LSTM, GRU")
    parser.add_argument("--rungs", default=None, help="comma-separated names of the contenders to time "
                        "(default all; torch.nn is always timed, the reference of the ratios)")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default=None,
                        help="default float32; flashrnn: bfloat16 (16-bit is for GPUs)")
    parser.add_argument("--tf32", choices=("off", "on"), default="off",
                        help="TF32 for cuDNN and cuBLAS alike (default off: full float32 on both sides)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls per contender first")
    args = parser.parse_args()
    device = bench_device(args)
    tf32 = set_tf32(args.tf32 == "on")
    print(f"device: {describe(device)}; TF32: {tf32}", file=sys.stderr)
    cells = [c.strip() for c in args.cells.split(",")]
    if bad := [c for c in cells if c not in CELLS]:
        parser.error(f"--cells must be of {CELLS}, got {bad}")
    names = None if args.rungs is None else ["torch.nn", *(n.strip() for n in args.rungs.split(","))]
    load_before = load_average()
    if args.sweep_T:
        plan = {"sweepT": [(int(t), args.B, args.H, args.H) for t in args.sweep_T.split(",")]}
    elif args.size:
        plan = {args.size: SIZES[args.size]}
    else:
        plan = {"cpu-target": SIZES["cpu-target"]} if device.type == "cpu" else {k: SIZES[k] for k in ("reference", "flashrnn")}
    for size, shapes in plan.items():
        dname = args.dtype or ("bfloat16" if size == "flashrnn" else "float32")
        if DTYPES[dname] in (torch.float16, torch.bfloat16) and device.type != "cuda":
            print(f"skipped size {size}: {dname} LSTMs are for GPUs (torch.nn's CPU kernels do not "
                  f"all take 16-bit)", file=sys.stderr)
            continue
        rows = []
        for T, B, D, H in shapes:
            for cell in cells:
                rows += bench_size(cell, T, B, D, H, device, DTYPES[dname], args.repeats, args.warmup,
                                   forward=size != "sweepT", names=names)
                print(f"{size}: {cell} T={T} B={B} H={H} done", file=sys.stderr, flush=True)
        title = (f"## The ladder against torch.nn on {describe(device)}: {size}\n\n"
                 f"{dname}, median of {args.repeats} interleaved repeats after {args.warmup} warm-up calls "
                 f"each. Ratio = rung / torch.nn (lower is faster); spread = interquartile range / median; "
                 f"saved MiB = what autograd keeps for backward (exact); first call s = the first "
                 f"forward+backward (on 2 steps), which pays one-time costs such as torch.compile's compilation.")
        save_results(rows, title, provenance_info(device, load_before), f"ladder_{device.type}_{size}",
                     args.label, args.out, plot=plot_ratios)


if __name__ == "__main__":
    main()
