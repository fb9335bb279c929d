"""Data-parallel training with ``torch.distributed`` (chapter 13), and the script that ``torchrun`` runs.

Data parallelism keeps a full replica of the model in each of ``N`` processes (ranks). Every step,
each rank takes its ``B / N`` rows of the global batch, computes the mean loss and its gradients on
them, and the gradients are averaged over the ranks (an all-reduce; ``DistributedDataParallel``
does it during the backward pass). Equal shards make the mean of the ranks' means the mean over the
whole batch, so every replica takes the step one process would take on the global batch, up to the
order of floating-point additions.

- :func:`init` joins the process group that ``torchrun`` describes in the environment (or returns a
  one-process :class:`World` when there is none); :func:`wrap` puts a model in
  ``DistributedDataParallel`` when there are several ranks; :func:`close` leaves the group.
- :func:`shard` is the data layout: rank ``r`` of ``N`` owns the contiguous block of rows
  ``r B/N`` to ``(r + 1) B/N``. :class:`rnnbook.text.StreamBatcher` deals the streams of stateful
  truncated BPTT that way (``rank=``, ``world_size=``), so each stream, and the hidden state it
  carries, stays on one rank.
- :func:`gather_state` and :func:`scatter_state` move a carried state between this rank's rows and
  the global batch: :func:`rnnbook.train.train` saves the global one (from rank 0), so a run resumes
  on any number of processes.
- :func:`main` is the worked example, run with
  ``torchrun --standalone --nproc-per-node 2 -m rnnbook.distributed --out DIR``: the character model
  of chapter 5 on the offline pydoc corpus, trained by :func:`rnnbook.train.train`. Rank 0 writes
  ``DIR/result.json`` and ``DIR/model.pt``. ``--checkpoint``, ``--resume`` and ``--fail-at`` show
  checkpoints that resume on another process count and ``torchrun``'s elastic restarts.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnbook.checks import check_int, check_positive, check_size, given, require_torch

require_torch("rnnbook.distributed")  # a clear ImportError if torch is missing

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

#: The variables ``torchrun`` sets for every worker; :func:`init` needs RANK and WORLD_SIZE.
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class World:
    """Who this process is in a data-parallel job: its ``rank`` of ``world_size``, its ``local_rank``
    on this machine, the ``device`` its replica lives on, and the ``backend`` of the process group
    (None when no group was started: one process)."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    backend: str | None

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0, the process that writes files and prints."""
        return self.rank == 0


def _device(device: Any, local_rank: int) -> torch.device:
    """The device of this rank's replica: ``cuda:<local_rank>`` for "cuda" (or "auto" with CUDA present)."""
    if device is None or device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if isinstance(device, str) and device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu', 'cuda', 'auto', None or a torch.device, got {device!r}")
    device = torch.device(device)
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = local_rank if device.index is None else device.index
        if index >= count:
            raise RuntimeError(f"local rank {local_rank} needs CUDA device {index}, but this machine has {count}: "
                               f"start at most {count} processes per node (--nproc-per-node)")
        device = torch.device("cuda", index)
    return device


def init(backend: str | None = None, *, timeout_s: float = 120.0, device: Any = None) -> World:
    """Join the process group that ``torchrun`` set up in the environment; return this process's :class:`World`.

    Parameters
    ----------
    backend : {"gloo", "nccl"}, optional
        Defaults to "nccl" for CUDA replicas and "gloo" on the CPU.
    timeout_s : float, default 120
        How long a collective (an all-reduce, a barrier) waits for the other ranks before it fails
        with an error instead of hanging. ``torchrun`` also stops the whole job when a worker dies.
    device : "cpu", "cuda", "auto", torch.device or None
        Where the replica lives; "cuda" means this rank's GPU, ``cuda:<LOCAL_RANK>``. None or
        "auto": CUDA when available, else the CPU.

    Returns
    -------
    World
        Without torchrun's variables (``RANK``, ``WORLD_SIZE``) in the environment: ``World(0, 1, 0,
        device, None)`` and no process group (one process, nothing to join).

    Raises
    ------
    ValueError
        If ``backend`` or ``device`` is not one of the above, or the environment's ranks are inconsistent.
    RuntimeError
        If CUDA is asked for and this rank has no GPU of its own.
    """
    timeout_s = check_positive("timeout_s", timeout_s)
    if backend is not None and backend not in ("gloo", "nccl"):
        raise ValueError(f"backend must be 'gloo', 'nccl' or None, got {backend!r}")
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return World(0, 1, 0, _device(device, 0), None)
    try:
        rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        raise ValueError(f"RANK, WORLD_SIZE and LOCAL_RANK must be integers, got "
                         f"{[os.environ.get(k) for k in TORCHRUN_VARIABLES[:3]]}") from None
    if not 0 <= rank < world_size:
        raise ValueError(f"RANK must be in [0, WORLD_SIZE={world_size}), got {rank}")
    where = _device(device, local_rank)
    backend = backend or ("nccl" if where.type == "cuda" else "gloo")
    if backend == "nccl" and where.type != "cuda":
        raise ValueError("backend 'nccl' needs CUDA replicas (device='cuda'); use 'gloo' on the CPU")
    if where.type == "cuda":
        torch.cuda.set_device(where)
    if not dist.is_initialized():
        timeout = datetime.timedelta(seconds=timeout_s)
        if os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True":
            # torchrun's agent keeps one key-value store for every attempt; the ranks of a restarted
            # attempt could read the addresses the dead attempt left there (gloo: "connection
            # refused"). Keys under a prefix of their own per attempt avoid that.
            attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
            store = dist.PrefixStore(f"rnnbook/attempt_{attempt}", dist.TCPStore(
                os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), world_size, is_master=False,
                timeout=timeout))
            dist.init_process_group(backend, store=store, rank=rank, world_size=world_size, timeout=timeout)
        else:
            dist.init_process_group(backend, timeout=timeout)
    return World(rank, world_size, local_rank, where, backend)


def close() -> None:
    """Leave the process group, if one is up (every rank calls it at the end)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def current_world(device: torch.device | None = None) -> World:
    """The :class:`World` of the process group that is up, or a one-process one."""
    device = torch.device("cpu") if device is None else device
    if not (dist.is_available() and dist.is_initialized()):
        return World(0, 1, 0, device, None)
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")), device,
                 str(dist.get_backend()))


def shard(n: int, rank: int, world_size: int) -> slice:
    """The rows of a global batch of ``n`` that ``rank`` owns: the contiguous block ``rank n/N : (rank + 1) n/N``.

    Raises
    ------
    TypeError, ValueError
        If an argument is not an int, ``world_size`` does not divide ``n`` (ranks must hold equal
        shares, or the mean of their means is not the global mean), or ``rank`` is not in ``[0, world_size)``.
    """
    n, world_size = check_size("n", n), check_size("world_size", world_size)
    rank = check_int("rank", rank, 0, world_size - 1)
    if n % world_size:
        raise ValueError(f"n must be divisible by world_size={world_size} (equal shares for every rank), got {n}")
    per = n // world_size
    return slice(rank * per, (rank + 1) * per)


def wrap(model: nn.Module, world: World, **ddp_options: Any) -> nn.Module:
    """``model`` in ``DistributedDataParallel`` when ``world`` has several ranks, else ``model`` itself.

    DDP broadcasts rank 0's parameters to every rank when it wraps (so the replicas start equal)
    and averages the gradients during ``backward``. ``ddp_options`` go to DDP as they are.

    Raises
    ------
    TypeError
        If ``model`` is not a torch module or ``world`` is not a :class:`World`.
    RuntimeError
        If ``world`` has several ranks but no process group is up (call :func:`init` first).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {given(model)}")
    if not isinstance(world, World):
        raise TypeError(f"world must be an rnnbook.distributed.World (from init()), got {given(world)}")
    if world.world_size == 1:
        return model
    if not dist.is_initialized():
        raise RuntimeError("world has several ranks but no process group is up: call rnnbook.distributed.init() first")
    if world.device.type == "cuda":
        ddp_options.setdefault("device_ids", [world.device.index])
    return DistributedDataParallel(model, **ddp_options)


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside ``DistributedDataParallel`` (its state dict has no ``module.`` prefix), else ``model``."""
    return model.module if isinstance(model, DistributedDataParallel) else model


def _map_state(state: Any, fn: Any) -> Any:
    if state is None:
        return None
    if isinstance(state, Tensor):
        return fn(state)
    if isinstance(state, (tuple, list)) and all(isinstance(s, Tensor) for s in state):
        return type(state)(fn(s) for s in state)
    raise TypeError(f"state must be None, a tensor or a tuple of tensors (layers, B, H), got {given(state)}")


def _check_state_tensor(s: Tensor) -> None:
    if s.dim() < 2:
        raise ValueError(f"a carried state must have the batch on dim 1, (layers, B, H), got shape {tuple(s.shape)}")


def gather_state(state: Any, world: World) -> Any:
    """Every rank's rows of a carried state, concatenated in rank order: the global batch's state.

    A collective: every rank must call it. ``state`` is None, a tensor or a tuple of tensors with
    the batch on dim 1 (``(layers, B/N, H)``, what the layers return); the result has ``B`` rows
    there, on every rank.

    Raises
    ------
    TypeError, ValueError
        If ``state`` is not of that form.
    """
    if world.world_size == 1:
        return _map_state(state, lambda s: s)

    def gather(s: Tensor) -> Tensor:
        _check_state_tensor(s)
        parts = [torch.empty_like(s) for _ in range(world.world_size)]
        dist.all_gather(parts, s.contiguous())
        return torch.cat(parts, dim=1)

    return _map_state(state, gather)


def scatter_state(state: Any, world: World) -> Any:
    """This rank's rows (:func:`shard` of dim 1) of a global carried state: the inverse of :func:`gather_state`.

    Raises
    ------
    TypeError, ValueError
        If ``state`` is not None, a tensor or a tuple of tensors ``(layers, B, H)``, or ``B`` is not
        divisible by the world size (the checkpoint was saved with another global batch).
    """
    def rows(s: Tensor) -> Tensor:
        _check_state_tensor(s)
        if s.shape[1] % world.world_size:
            raise ValueError(f"the carried state has a global batch of {s.shape[1]} rows, not divisible by "
                             f"world_size={world.world_size}: the run must keep its global batch size")
        return s[:, shard(s.shape[1], world.rank, world.world_size)].contiguous()

    return _map_state(state, rows)


def mean_over_ranks(value: Tensor, world: World) -> Tensor:
    """The mean of a tensor over the ranks (an all-reduce; every rank gets it)."""
    if world.world_size == 1:
        return value
    total = value.detach().clone()
    dist.all_reduce(total)
    return total / world.world_size


def same_on_every_rank(value: Any, world: World) -> bool:
    """Whether a picklable value (a batch source's position) is equal on every rank (a collective)."""
    if world.world_size == 1:
        return True
    values: list[Any] = [None] * world.world_size
    dist.all_gather_object(values, value)
    return all(v == values[0] for v in values)


#: What gloo and NCCL say when a collective's peer has gone (crashed, killed) or never answered.
PEER_LOST = ("closed by peer", "reset by peer", "broken pipe", "timed out", "timeout")


def peer_lost(err: BaseException) -> bool:
    """Whether a collective's error means another rank is gone (rather than a bug in this one)."""
    return isinstance(err, getattr(dist, "DistError", ())) or any(s in str(err).lower() for s in PEER_LOST)


def barrier(world: World) -> None:
    """Wait until every rank gets here (nothing to wait for with one process)."""
    if world.world_size > 1:
        dist.barrier()


# --- the worked example: torchrun -m rnnbook.distributed --------------------------------------------

class WatchedBatches:
    """A batch source that records when each step drew its batch, and can kill its own process.

    It wraps a :class:`rnnbook.train.BatchSource` (its position is saved with the step count, so
    it checkpoints and resumes like the source). ``times`` holds ``time.perf_counter()`` at each draw
    of this process (the throughput of the steps between draws). ``fail_at=S`` kills this process
    with SIGKILL once ``S`` steps are completed, as it is about to draw the batch of step ``S + 1``
    (steps counted from 1, as checkpoints count them), the way a crashed or preempted worker disappears: no exception, no clean-up. It fails only when ``armed``.
    """

    def __init__(self, source: Any, fail_at: int | None = None, armed: bool = False) -> None:
        self.source, self.fail_at, self.armed = source, fail_at, armed
        self.step = 0
        self.times: list[float] = []

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        if self.armed and self.fail_at is not None and self.step == self.fail_at:
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGKILL)  # a worker that dies without a word
        self.times.append(time.perf_counter())
        self.step += 1
        return next(self.source)

    def state_dict(self) -> dict[str, Any]:
        return {"source": self.source.state_dict(), "step": self.step}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.source.load_state_dict(state["source"])
        self.step = int(state["step"])


def _no_communication(state: object, bucket: dist.GradBucket) -> torch.futures.Future[Tensor]:
    """A DDP communication hook that communicates nothing: each rank keeps its own gradient (``--comm none``)."""
    future: torch.futures.Future[Tensor] = torch.futures.Future()
    future.set_result(bucket.buffer())
    return future


# DDP checks a hook's annotations as objects; `from __future__ import annotations` left them strings.
_no_communication.__annotations__ = {"state": object, "bucket": dist.GradBucket,
                                     "return": torch.futures.Future[Tensor]}


def parser() -> argparse.ArgumentParser:
    """The options of :func:`main` (``python -m rnnbook.distributed --help``)."""
    p = argparse.ArgumentParser(
        prog="torchrun --standalone --nproc-per-node N -m rnnbook.distributed",
        description="Data-parallel training of the character model (chapter 13). Rank 0 writes "
                    "OUT/result.json and OUT/model.pt.")
    p.add_argument("--out", required=True, help="folder for result.json and model.pt")
    p.add_argument("--steps", type=int, default=40, help="optimiser steps to reach (a resumed run continues to it)")
    p.add_argument("--batch-size", type=int, default=8, help="the GLOBAL number of streams B, split over the ranks")
    p.add_argument("--chunk-len", type=int, default=32, help="T, the steps of one chunk (TBPTT length)")
    p.add_argument("--hidden", type=int, default=64, help="H, the hidden size")
    p.add_argument("--cell", default="lstm", choices=("rnn", "lstm", "gru"))
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    p.add_argument("--lr", type=float, default=3e-3, help="Adam's learning rate")
    p.add_argument("--max-norm", type=float, default=1.0, help="clip the gradients' global norm to this")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--chars", type=int, default=60_000, help="train on the first CHARS characters of the pydoc corpus")
    p.add_argument("--eval-every", type=int, default=None, help="evaluate on the validation split every k steps")
    p.add_argument("--checkpoint", default=None, help="checkpoint file (saved by rank 0)")
    p.add_argument("--checkpoint-every", type=int, default=None, help="save every k steps (and after the last)")
    p.add_argument("--resume", action="store_true", help="resume from --checkpoint if it exists")
    p.add_argument("--fail-at", type=int, default=None,
                   help="kill rank --fail-rank with SIGKILL once S steps are completed (before step S + 1 starts), "
                        "on torchrun's first attempt only")
    p.add_argument("--fail-rank", type=int, default=1, help="the rank --fail-at kills (default 1: not the one that writes)")
    p.add_argument("--comm", default="allreduce", choices=("allreduce", "none"),
                   help="'none' times DDP without its gradient all-reduce (each replica keeps its own gradient, "
                        "so the replicas drift apart: for measurements only)")
    p.add_argument("--warmup", type=int, default=2, help="steps left out of the throughput")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds a collective waits before failing")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    return p


def main(argv: Sequence[str] | None = None) -> dict[str, Any] | None:
    """Train the character model data-parallel, as ``torchrun`` started this process; see :func:`parser`.

    Returns rank 0's result (also written to ``OUT/result.json``), None on the other ranks. Run
    without torchrun, it trains in this one process.
    """
    from rnnbook.text import StreamBatcher, Vocabulary, pydoc_corpus, split
    from rnnbook.torch.charlm import CharModel, lm_loss
    from rnnbook.train import LoopConfig, train

    args = parser().parse_args(argv)
    world = init(timeout_s=args.timeout, device=args.device)
    try:
        text = pydoc_corpus()[:check_size("--chars", args.chars)]
        vocab = Vocabulary.from_text(text)
        train_ids, val_ids, _ = split(vocab.encode(text), (0.9, 0.05, 0.05))
        dtype = getattr(torch, args.dtype)
        torch.manual_seed(args.seed)  # the same initial replica on every rank (DDP broadcasts rank 0's anyway)
        model = CharModel(len(vocab), args.hidden, args.cell, device=world.device, dtype=dtype)
        ddp = wrap(model, world)
        if args.comm == "none" and isinstance(ddp, DistributedDataParallel):
            ddp.register_comm_hook(None, _no_communication)
        optimizer = torch.optim.Adam(ddp.parameters(), lr=args.lr)
        restarts = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
        batches = WatchedBatches(
            StreamBatcher(train_ids, args.batch_size, args.chunk_len, device=world.device, rank=world.rank,
                          world_size=world.world_size),
            fail_at=args.fail_at, armed=restarts == 0 and world.rank == args.fail_rank)
        validation = None
        if args.eval_every is not None:
            validation = StreamBatcher(val_ids, args.batch_size, args.chunk_len, device=world.device, rank=world.rank,
                                       world_size=world.world_size).one_pass()
        resume = args.checkpoint if args.resume and args.checkpoint and Path(args.checkpoint).exists() else None
        config = LoopConfig(steps=args.steps, max_norm=args.max_norm, eval_every=args.eval_every,
                            checkpoint_every=args.checkpoint_every, progress=False)
        try:
            history = train(ddp, optimizer, lm_loss, batches, config, validation=validation,
                            checkpoint=args.checkpoint, resume_from=resume)
        except RuntimeError as err:
            if world.world_size == 1 or not peer_lost(err):
                raise
            where = (f"rerun with --resume to continue from the last checkpoint, {args.checkpoint}"
                     if args.checkpoint else "no --checkpoint was given, so a rerun starts over")
            raise RuntimeError(f"rank {world.rank} of {world.world_size} lost contact with the other ranks during step "
                               f"{batches.step} ({batches.step - 1} completed): another worker stopped (look for its exit code or signal in "
                               f"torchrun's list of failures); {where}. The collective reported: "
                               f"{str(err).splitlines()[0][:300]}") from None
        end = time.perf_counter()
        resumed_at = len(history.losses) - len(batches.times)
        warmup = check_int("--warmup", args.warmup, minimum=0)
        timed = batches.times[warmup:]
        chars = len(timed) * args.batch_size * args.chunk_len  # the global batch: every rank's rows
        result = {
            "world_size": world.world_size, "backend": world.backend, "device": str(world.device),
            "steps": len(history.losses), "resumed_from_step": resumed_at if resume else None,
            "restart_count": restarts, "losses": history.losses, "grad_norms": history.grad_norms,
            "val_steps": history.val_steps, "val_losses": history.val_losses,
            "seconds": history.seconds, "timed_steps": len(timed),
            # from the first timed draw to the end of train(): a final checkpoint's save included
            "chars_per_second": chars / (end - timed[0]) if timed else None,
            "args": vars(args), "torch": torch.__version__, "python": platform.python_version(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        if world.is_main:
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            torch.save(unwrap(ddp).state_dict(), out / "model.pt")
            (out / "result.json").write_text(json.dumps(result, indent=1) + "\n")
        barrier(world)
        return result if world.is_main else None
    finally:
        close()


if __name__ == "__main__":
    from torch.distributed.elastic.multiprocessing.errors import record

    from rnnbook.distributed import main as _main  # the package's module, not a second copy run as __main__

    record(_main)()
