"""Data-parallel training of the character model on 1, 2, ... processes: throughput and scaling (chapter 13).

For each process count N in ``--procs``, the book's worked script trains ``rnnbook.torch.charlm.CharModel``
with DistributedDataParallel, one process per CPU core (gloo, one thread each) or per GPU (nccl)::

    OMP_NUM_THREADS=1 python -m torch.distributed.run --standalone --nproc-per-node N \\
        -m rnnbook.distributed --out DIR --steps S --warmup W --batch-size B --chunk-len T --hidden H ...

and its ``DIR/result.json`` gives the time of the training loop. Two ways to add processes:

- weak scaling: the per-rank batch is fixed (``--B`` streams), the global batch is N x B; ideally
  N processes train N times as many characters per second;
- strong scaling: the global batch is fixed (``--global-batch``), each rank trains 1/N of it; ideally
  a step takes 1/N of the time.

Throughput is characters per second over the timed steps only: process start-up, the rendezvous and
the first ``--warmup-steps`` steps are left out (the worked script's ``--warmup``: its
``chars_per_second`` runs from the start of that step to the end of the loop). Each configuration runs
``--repeats`` times, the configurations in turn (reversed every other round) so that a change of
machine load hits all of them alike; the table gives medians and the ratios to the 1-process run of
the same invocation. N x threads above the CPU count is marked oversubscribed. A 1-process run is the
worked script in a plain process (a world of one needs no launcher; its timed steps are the same).

Next to each N > 1 run, references measured the same way break its step time down: ``together``, N
independent one-process runs on their shares at the same time (what sharing the cores costs), and
``no grad all-reduce``, the same DDP run with ``--comm none`` (a communication hook that sends nothing):
from ``together`` to it is DDP's machinery, the loop's per-step all-reduce of the loss value and the
ranks waiting for each other; from it to the real run is the gradient all-reduce in its place.

Then the gradient all-reduce alone, which is what data parallelism adds to a step: 2 processes
(gloo on the CPU, nccl on GPUs) all-reduce tensors (the model's dtype) of the model's gradient size and of
sizes around it; time per all-reduce and bandwidth (bytes / time). The same file is the worker
(``--worker allreduce``, run by ``torch.distributed.run``).

Results: ``benchmarks/results/ddp_<device>.{json,md,png}`` (scaling, and the figure) and
``ddp_allreduce_<device>.{json,md}``, with their provenance.

    python benchmarks/bench_ddp.py                              # CPU, 1 and 2 processes (a few minutes)
    python benchmarks/bench_ddp.py --procs 1,2,4 --repeats 5    # 4 processes on 2 cores: oversubscribed
    python benchmarks/bench_ddp.py --device cuda                # one process per GPU, 1, 2, 4, ... up to all
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from harness import Timing, bench_device, bench_parser, load_average, provenance_info, save_figure, save_results
from rnnbook.device import describe

#: The launcher, as a module of this Python (``torchrun`` is its console script).
LAUNCH = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
#: The sizes of the all-reduce sweep, as multiples of the model's gradient (plus one element: the latency).
ALLREDUCE_MULTIPLES = (1 / 16, 1 / 4, 1, 4, 16, 64)


@dataclass(frozen=True)
class Config:
    """One training configuration: ``processes`` ranks share a global batch of ``global_batch`` streams; or, with
    ``together``, as many independent processes train ``global_batch / processes`` streams each at the same time;
    or, with ``comm=False``, the ranks run DDP without its gradient all-reduce (the worked script's ``--comm none``:
    a communication hook that sends nothing; the loop's all-reduce of the loss value stays)."""

    processes: int
    global_batch: int
    together: bool = False   # instead: N separate one-process runs at once, no torch.distributed (no communication)
    comm: bool = True        # False: DDP with a no-op communication hook (all of DDP but the gradient all-reduce)


def config_label(c: Config) -> str:
    """A configuration in words, e.g. "N=2 B=64 DDP --comm none"."""
    return f"N={c.processes} B={c.global_batch}" + (" independent" if c.together else "") + ("" if c.comm else
                                                                                             " DDP --comm none")


def check_procs(procs: list[int], device: torch.device, global_batch: int, available: int) -> list[int]:
    """The process counts, checked: each >= 1, 1 among them (the baseline of the ratios), the global
    batch divisible by each, and on CUDA no more than the ``available`` GPUs (one process per GPU).

    Raises
    ------
    ValueError
        Naming ``--procs`` (or ``--global-batch``) and what was given.
    """
    if not procs or any(n < 1 for n in procs):
        raise ValueError(f"--procs must be positive process counts, got {procs}")
    if 1 not in procs:
        raise ValueError(f"--procs must include 1, the run the ratios are taken against, got {procs}")
    if device.type == "cuda" and max(procs) > available:
        raise ValueError(f"--procs asks for {max(procs)} processes on CUDA, one per GPU, but "
                         f"torch.cuda.device_count() is {available}: give --procs up to {available}")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"--device must be cpu or cuda (torch.distributed has no {device.type} backend), got {device}")
    bad = [n for n in procs if global_batch % n]
    if bad:
        raise ValueError(f"--global-batch {global_batch} must be divisible by every process count, not by {bad}")
    return sorted(set(procs))


def default_procs(device: torch.device) -> list[int]:
    """1 and 2 on the CPU; on CUDA 1, 2, 4, ... up to every GPU there is."""
    if device.type != "cuda":
        return [1, 2]
    count = torch.cuda.device_count()
    return [n for n in (1, 2, 4, 8, 16, 32) if n <= count]


def run_jobs(cmds: list[list[str]], outs: list[Path], threads: int, timeout_s: float,
             envs: list[dict[str, str]] | None = None) -> list[dict]:
    """Start the commands at once, ``OMP_NUM_THREADS=threads`` in each (and ``envs[i]``) and no ``torchrun``
    variables inherited, wait for all; return the ``result.json`` that each wrote in its ``out``.

    Raises
    ------
    RuntimeError
        If a job fails, runs past ``timeout_s`` (then every job is killed, workers included) or wrote no
        result, with the end of its output.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR",
                                                             "MASTER_PORT")}
    env["OMP_NUM_THREADS"] = str(threads)
    jobs = []
    for i, (cmd, out) in enumerate(zip(cmds, outs)):
        out.mkdir(parents=True, exist_ok=True)
        with (out / "log.txt").open("w") as log:
            jobs.append(subprocess.Popen(cmd, env={**env, **(envs[i] if envs else {})}, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True))
    deadline = time.monotonic() + timeout_s
    codes: list[int | str] = []
    for job in jobs:
        try:
            codes.append(job.wait(timeout=max(deadline - time.monotonic(), 0.0)))
        except subprocess.TimeoutExpired:
            for j in jobs:
                if j.poll() is None:
                    os.killpg(j.pid, signal.SIGKILL)     # the launcher and its workers: nothing left running
                    j.wait()
            codes.append(f"hung for {timeout_s:.0f} s, killed")
            break
    results = []
    for cmd, out, rc in zip(cmds, outs, codes + ["killed"] * (len(cmds) - len(codes))):
        if rc != 0 or not (out / "result.json").exists():
            tail = "\n".join((out / "log.txt").read_text(errors="replace").splitlines()[-25:])
            raise RuntimeError(f"{shlex.join(cmd)} failed ({rc}); the end of its output:\n{tail}")
        results.append(json.loads((out / "result.json").read_text()))
    return results


def launch(processes: int, argv: list[str], out: Path, threads: int, timeout_s: float) -> dict:
    """Run ``torch.distributed.run`` with ``processes`` workers and ``argv`` (``-m module ...`` or a script);
    return the ``result.json`` its rank 0 wrote in ``out`` (see :func:`run_jobs`)."""
    return run_jobs([[*LAUNCH, "--nproc-per-node", str(processes), *argv]], [out], threads, timeout_s)[0]


def train_argv(args: argparse.Namespace, global_batch: int, out: Path, comm: bool = True) -> list[str]:
    """The worked script's command line for one run (``comm=False``: with ``--comm none``)."""
    return ["-m", "rnnbook.distributed", "--out", str(out), "--steps", str(args.steps), "--warmup",
            str(args.warmup_steps), "--batch-size", str(global_batch),
            "--chunk-len", str(args.T), "--hidden", str(args.H), "--cell", args.cell, "--dtype", args.dtype,
            "--seed", "0", "--chars", str(args.chars), "--device", args.device_type, "--timeout", "120",
            *([] if comm else ["--comm", "none"])]


def ms_per_step(result: dict, config: Config, T: int, steps: int, warmup_steps: int) -> float:
    """Milliseconds per timed step of one run: its global batch x T characters over its ``chars_per_second``,
    which the worked script measures from the start of step ``warmup_steps`` to the end of the loop.

    Raises
    ------
    RuntimeError
        If the run had another number of processes, steps or timed steps than asked for.
    """
    got = (result["world_size"], result["steps"], result["timed_steps"])
    if got != (config.processes, steps, steps - warmup_steps) or not result["chars_per_second"]:
        raise RuntimeError(f"asked for {config.processes} processes, {steps} steps of which {steps - warmup_steps} "
                           f"timed; the run reports {got[0]}, {got[1]} and {got[2]} "
                           f"(chars_per_second={result['chars_per_second']})")
    return 1e3 * config.global_batch * T / result["chars_per_second"]


def own_gpus(n: int, device_type: str) -> list[dict[str, str]] | None:
    """On CUDA, the environment that gives each of ``n`` independent processes a GPU of its own (as torchrun's
    ranks have): ``CUDA_VISIBLE_DEVICES`` = the i-th visible GPU. None on the CPU."""
    if device_type != "cuda":
        return None
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    ids = visible.split(",") if visible else [str(i) for i in range(torch.cuda.device_count())]
    return [{"CUDA_VISIBLE_DEVICES": ids[i]} for i in range(n)]


def measure_training(configs: list[Config], args: argparse.Namespace, workdir: Path) -> dict[Config, list[float]]:
    """Each configuration's ms per timed step, ``args.repeats`` times, the configurations in turn (reversed
    every other round, so that no configuration always runs after the same one)."""
    times: dict[Config, list[float]] = {c: [] for c in configs}
    for r in range(args.repeats):
        for c in (configs if r % 2 == 0 else configs[::-1]):
            kind = "_together" if c.together else ("" if c.comm else "_nocomm")
            out = workdir / f"train_N{c.processes}_B{c.global_batch}{kind}_{r}"
            if c.together or c.processes == 1:   # plain processes (one-process Worlds: no torchrun, no group), at once
                share = Config(1, c.global_batch // c.processes)
                outs = [out / f"p{i}" for i in range(c.processes)] if c.together else [out]
                results = run_jobs([[sys.executable, *train_argv(args, share.global_batch, o)] for o in outs], outs,
                                   args.threads, args.launch_timeout, envs=own_gpus(c.processes, args.device_type))
                rate = sum(share.global_batch * args.T / ms_per_step(res, share, args.T, args.steps, args.warmup_steps)
                           for res in results)                    # characters per ms, all processes together
                times[c].append(c.global_batch * args.T / rate)
            else:
                result = launch(c.processes, train_argv(args, c.global_batch, out, c.comm), out, args.threads,
                                args.launch_timeout)
                times[c].append(ms_per_step(result, c, args.T, args.steps, args.warmup_steps))
            print(f"round {r + 1}/{args.repeats}: {config_label(c)}: {times[c][-1]:.1f} ms/step", file=sys.stderr,
                  flush=True)
    return times


def scaling_rows(times: dict[Config, list[float]], procs: list[int], B: int, G: int, T: int, threads: int,
                 cpu: bool) -> list[dict]:
    """The table: for weak (per-rank batch B) and strong (global batch G) scaling, each process count's median
    ms per step, characters per second and its ratio to 1 process (and that ratio / N, the efficiency).

    Three references, as ratios to 1 process, split the shortfall from N:

    - ``alone``: if each rank ran as fast as one process alone on its share of the batch (``times`` holds
      1 process at every per-rank batch): N in weak scaling; in strong scaling t(1 process, G) /
      t(1 process, G/N), less than N when a step has costs that do not shrink with the batch (the
      loop over time steps, Python, small matrix products);
    - ``together``: N independent processes, each on its share, running at the same time (``times``
      holds ``Config(N, ., together=True)``): what sharing the machine's cores and memory costs;
    - ``no grad all-reduce``: DDP on N ranks with a communication hook that sends nothing (``times`` holds
      ``Config(N, ., comm=False)``): from ``together`` down to it is DDP's machinery, the loop's
      per-step all-reduce of the loss value and the ranks waiting for each other every step; from it
      down to ``vs 1 process`` is the gradient all-reduce in its place in the step.

    ``ms/step together`` and ``ms/step no grad all-reduce`` are the same two references as times per step
    (``together``: the global batch over the independent processes' summed throughput). With 1 process
    every reference is the run itself."""
    median = {c: Timing.of(t).median for c, t in times.items()}
    rows = []
    for scaling, batch_of in (("weak", lambda n: n * B), ("strong", lambda n: G)):
        base = batch_of(1) * T / (median[Config(1, batch_of(1))] / 1e3)
        for n in procs:
            t = Timing.of(times[Config(n, batch_of(n))])
            rate = batch_of(n) * T / (t.median / 1e3)
            alone = batch_of(n) * T / (median[Config(1, batch_of(n) // n)] / 1e3)
            ms_together = t.median if n == 1 else median[Config(n, batch_of(n), together=True)]
            ms_no_comm = t.median if n == 1 else median[Config(n, batch_of(n), comm=False)]
            rows.append({"scaling": scaling, "processes": n, "per-rank batch": batch_of(n) // n,
                         "global batch": batch_of(n),
                         "oversubscribed": "yes" if cpu and n * threads > (os.cpu_count() or 1) else "no",
                         "ms/step": t.median, "IQR/median": t.spread, "runs": t.repeats,
                         "chars/s": rate, "vs 1 process": rate / base, "efficiency": rate / base / n,
                         "alone": alone / base, "together": batch_of(n) * T / (ms_together / 1e3) / base,
                         "no grad all-reduce": batch_of(n) * T / (ms_no_comm / 1e3) / base,
                         "ms/step together": ms_together, "ms/step no grad all-reduce": ms_no_comm})
    return rows


# ----------------------------------------------------------------------------- the all-reduce alone

def allreduce_worker(argv: list[str]) -> None:
    """Run by ``torch.distributed.run`` on each rank: time ``all_reduce`` of tensors (``--dtype``) of each size in
    ``--sizes`` (elements); rank 0 writes ``--out/result.json`` with the median ms per all-reduce."""
    import torch.distributed as dist

    from rnnbook import distributed

    parser = argparse.ArgumentParser(description="the all-reduce timing worker of bench_ddp.py")
    parser.add_argument("--worker", choices=["allreduce"], required=True)
    parser.add_argument("--sizes", required=True, help="comma-separated numbers of elements")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--min-ms", type=float, default=20.0, help="the least time of one timed repeat")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    world = distributed.init(device=args.device, timeout_s=60.0)
    dev = world.device

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        x = torch.zeros(n, device=dev, dtype=getattr(torch, args.dtype))  # zeros stay zeros, however often summed
        for _ in range(3):                       # warm-up: connections, buffers
            dist.all_reduce(x)
        sync()
        start = time.perf_counter()
        dist.all_reduce(x)
        sync()
        once = torch.tensor([time.perf_counter() - start], dtype=torch.float64, device=dev)
        dist.all_reduce(once, op=dist.ReduceOp.MAX)   # every rank repeats the same number of times
        k = max(1, min(1000, int(args.min_ms / 1e3 / max(once.item(), 1e-7))))
        times = []
        for _ in range(args.repeats):
            dist.barrier()
            sync()
            start = time.perf_counter()
            for _ in range(k):
                dist.all_reduce(x)
            sync()
            times.append(1e3 * (time.perf_counter() - start) / k)
        results.append({"elements": n, "calls_per_repeat": k, "ms": times})
    if world.is_main:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "result.json").write_text(json.dumps({"world_size": world.world_size, "backend": world.backend,
                                                          "sizes": results}))
    distributed.close()


def allreduce_sizes(grad_elements: int) -> list[int]:
    """One element (the latency), the gradient's size and multiples of it around it."""
    return sorted({1, *(max(1, round(grad_elements * m)) for m in ALLREDUCE_MULTIPLES)})


def measure_allreduce(grad_elements: int, one_step_ms: float, args: argparse.Namespace, workdir: Path) -> list[dict]:
    """Time the all-reduce on 2 processes; one row per size, with its share of a 1-process training step."""
    out = workdir / "allreduce"
    argv = [str(Path(__file__).resolve()), "--worker", "allreduce", "--sizes",
            ",".join(map(str, allreduce_sizes(grad_elements))), "--repeats", str(max(args.repeats, 5)),
            "--device", args.device_type, "--dtype", args.dtype, "--out", str(out)]
    result = launch(2, argv, out, args.threads, args.launch_timeout)
    rows = []
    for size in result["sizes"]:
        t = Timing.of(size["ms"])
        nbytes = torch.finfo(getattr(torch, args.dtype)).bits // 8 * size["elements"]
        rows.append({"elements": size["elements"], "bytes": nbytes,
                     "what": "model gradient" if size["elements"] == grad_elements else "",
                     "ms/all-reduce": t.median, "IQR/median": t.spread,
                     "GB/s (bytes / time)": nbytes / (t.median / 1e3) / 1e9,
                     "vs 1-process step": t.median / one_step_ms})
    return rows


def gradient_elements(model_pt: Path) -> int:
    """The number of parameters (= gradient elements) in a saved state dict."""
    state = torch.load(model_pt, map_location="cpu", weights_only=True)
    return sum(v.numel() for v in state.values() if v.is_floating_point())


# ----------------------------------------------------------------------------- the figure

def plot_scaling(rows: list[dict], allreduce: list[dict], path: Path) -> None:
    """Throughput and its ratio to 1 process against the number of processes (weak and strong), and the
    all-reduce time against its size."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    procs = sorted({r["processes"] for r in rows})
    for scaling, marker in (("weak", "o"), ("strong", "s")):
        pts = [r for r in rows if r["scaling"] == scaling]
        n = [r["processes"] for r in pts]
        axes[0].plot(n, [r["chars/s"] / 1e3 for r in pts], marker + "-", label=f"{scaling} scaling")
        line, = axes[1].plot(n, [r["vs 1 process"] for r in pts], marker + "-", label=f"{scaling} scaling (DDP)")
        axes[1].plot(n, [r["together"] for r in pts], marker + ":", color=line.get_color(), mfc="none",
                     label=f"{scaling}: independent processes")
        axes[1].plot(n, [r["no grad all-reduce"] for r in pts], marker + "--", color=line.get_color(), mfc="none",
                     lw=1, label=f"{scaling}: DDP, no gradient all-reduce")
        if scaling == "strong":
            axes[1].plot(n, [r["alone"] for r in pts], "-.", color=line.get_color(), lw=1,
                         label="strong: each share alone")
        over = [r for r in pts if r["oversubscribed"] == "yes"]
        if over:
            axes[1].plot([r["processes"] for r in over], [r["vs 1 process"] for r in over], "x", color="k", ms=10,
                         label="oversubscribed" if scaling == "weak" else None)
    axes[1].plot(procs, procs, "k--", lw=1, label="ideal (N)")
    for ax in axes[:2]:
        ax.set_xticks(procs)
        ax.set_xlabel("processes N")
        ax.legend(fontsize=8)
    axes[0].set(ylabel="throughput (thousand chars/s)", title="training throughput")
    axes[1].set(ylabel="throughput / 1 process", title="speed-up over 1 process")
    if allreduce:
        axes[2].loglog([r["bytes"] for r in allreduce], [r["ms/all-reduce"] for r in allreduce], "o-")
        for r in allreduce:
            if r["what"] == "model gradient":
                axes[2].axvline(r["bytes"], color="C1", ls=":", label=f"model gradient ({r['bytes'] / 1e3:.0f} kB)")
        axes[2].set(xlabel="tensor size (bytes)", ylabel="time per all-reduce (ms)", title="all-reduce, 2 processes")
        axes[2].legend(fontsize=8)
    else:
        axes[2].set_axis_off()
    save_figure(fig, path)


# ----------------------------------------------------------------------------- main

def main() -> None:
    if "--worker" in sys.argv:
        allreduce_worker(sys.argv[1:])
        return
    parser = bench_parser(__doc__, repeats=3, device_help="cpu (default; gloo) or cuda (nccl, one process per GPU)")
    parser.add_argument("--procs", default=None, metavar="N1,N2,...",
                        help="process counts, 1 among them (default 1,2 on the CPU; on CUDA 1, 2, 4, ... GPUs)")
    parser.add_argument("--B", type=int, default=32, help="streams per rank in weak scaling (and 1 process)")
    parser.add_argument("--global-batch", type=int, default=None, help="streams in all in strong scaling (default --B)")
    parser.add_argument("--T", type=int, default=32, help="characters per chunk (the worked script's --chunk-len)")
    parser.add_argument("--H", type=int, default=128, help="hidden size")
    parser.add_argument("--cell", choices=("rnn", "lstm", "gru"), default="lstm")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--chars", type=int, default=60000, help="characters of the corpus to train on")
    parser.add_argument("--steps", type=int, default=110, help="training steps per run")
    parser.add_argument("--warmup-steps", type=int, default=10,
                        help="first steps left out of the timing (the worked script's --warmup)")
    parser.add_argument("--launch-timeout", type=float, default=600.0, help="seconds before a launch counts as hung")
    parser.add_argument("--no-allreduce", action="store_true", help="skip the all-reduce measurement")
    # make bench passes the layer benchmark's options to every script: accept and ignore those
    parser.add_argument("--D", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--sweep-T", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.device = args.device or "cpu"
    device = bench_device(args)          # torch threads = --threads: recorded in the provenance, given to each worker
    args.device_type = device.type
    G = args.global_batch or args.B
    try:
        procs = check_procs([int(n) for n in args.procs.split(",")] if args.procs else default_procs(device), device,
                            G, torch.cuda.device_count() if device.type == "cuda" else 0)
    except ValueError as err:
        parser.error(str(err))
    if args.steps < 1 or not 0 <= args.warmup_steps < args.steps:
        parser.error(f"--steps must be positive and --warmup-steps in [0, --steps), got {args.steps} and "
                     f"{args.warmup_steps}")
    load_before = load_average()
    configs = list(dict.fromkeys([Config(n, n * args.B) for n in procs] + [Config(n, G) for n in procs]
                                 + [Config(1, G // n) for n in procs]     # each rank's share, one process alone
                                 + [Config(n, b, True) for n in procs if n > 1 for b in (n * args.B, G)]
                                 + [Config(n, b, comm=False) for n in procs if n > 1 for b in (n * args.B, G)]))
    with tempfile.TemporaryDirectory(prefix="bench_ddp_") as tmp:
        times = measure_training(configs, args, Path(tmp))
        rows = scaling_rows(times, procs, args.B, G, args.T, args.threads, device.type == "cpu")
        grad = gradient_elements(Path(tmp) / f"train_N1_B{args.B}_0" / "model.pt")
        one_step = rows[0]["ms/step"]
        if args.no_allreduce:
            allreduce: list[dict] = []
        elif device.type == "cuda" and torch.cuda.device_count() < 2:
            print("one GPU: no all-reduce to time", file=sys.stderr)
            allreduce = []
        else:
            allreduce = measure_allreduce(grad, one_step, args, Path(tmp))
    info = provenance_info(device, load_before)
    over = "; oversubscribed: more processes x threads than the {} CPU cores".format(os.cpu_count()) \
        if any(r["oversubscribed"] == "yes" for r in rows) else ""
    gpus = torch.cuda.device_count()
    gpu_note = ("" if device.type == "cuda" else "\n\nGPU scaling is not measured here: " + (
        f"run with `--device cuda` for it ({gpus} GPUs here)." if gpus >= 2 else
        f"no multi-GPU machine was available (torch.cuda.device_count() = {gpus}); run with `--device cuda` on one."))
    example = shlex.join(LAUNCH + ["--nproc-per-node", "N"] + train_argv(args, 0, Path("DIR")))
    example = f"OMP_NUM_THREADS={args.threads} " + example.replace("--batch-size 0", "--batch-size <global batch>")
    info["launch"] = example
    info["gradient_elements"] = grad
    info["ms_per_step_runs"] = {config_label(c): [round(t, 2) for t in ts] for c, ts in times.items()}
    backend = "nccl" if device.type == "cuda" else "gloo"
    title = (f"## Data-parallel training of the character model on {describe(device)} ({backend})\n\n"
             f"{args.cell.upper()} character model, H={args.H}, T={args.T} characters per chunk, {args.dtype}, "
             f"{grad:,} parameters; {args.threads} thread(s) per process{over}. Weak scaling: {args.B} streams per "
             f"rank; strong scaling: {G} streams in all. ms/step: median over {args.repeats} run(s) of the time of "
             f"a step after the first {args.warmup_steps} (start-up and those steps excluded); chars/s = global "
             f"batch x T / ms/step; vs 1 process: the ratio to the 1-process run of the same scaling (ideal: N); "
             f"efficiency = that ratio / N. References, as ratios to 1 process: alone: if each rank "
             f"ran as fast as one process alone on its share of the batch; together: N independent processes (no "
             f"torch.distributed) on their shares at the same time, measured the same way; no grad all-reduce: "
             f"the same DDP run with the worked script's `--comm none` (a communication hook that sends nothing; "
             f"the loop's per-step all-reduce of the loss value stays). ms/step together and ms/step no grad "
             f"all-reduce are those two as times per step. So, per step: together - 1 process = sharing the "
             f"cores; no grad all-reduce - together = DDP's machinery, the loss all-reduce and the ranks waiting "
             f"for each other; ms/step - no grad all-reduce = the gradient all-reduce in place.\n\n"
             f"Each run: `{example}` (1 process: `python -m rnnbook.distributed ...`, no launcher){gpu_note}\n\n"
             f"Every run's ms/step, in the order run: " + "; ".join(f"{k}: {', '.join(f'{t:.1f}' for t in ts)}"
                                                                 for k, ts in info["ms_per_step_runs"].items()) + ".")
    save_results(rows, title, info, f"ddp_{device.type}", args.label, args.out,
                 plot=lambda rows, path: plot_scaling(rows, allreduce, path))
    if allreduce:
        grad_bytes = next(r["bytes"] for r in allreduce if r["what"] == "model gradient")
        ar_title = (f"## The gradient all-reduce alone on {describe(device)} ({backend}, 2 processes)\n\n"
                    f"{args.dtype} tensors (the model's dtype); ms/all-reduce: median of repeats, each the mean "
                    f"of many calls; GB/s: bytes / "
                    f"time (with 2 ranks a ring all-reduce sends and receives about the tensor's size per rank); "
                    f"vs 1-process step: that time / the 1-process training step ({one_step:.1f} ms). "
                    f"The model gradient is {grad:,} parameters, {grad_bytes / 1e3:.0f} kB.")
        save_results(allreduce, ar_title, info, f"ddp_allreduce_{device.type}", args.label, args.out)


if __name__ == "__main__":
    main()
