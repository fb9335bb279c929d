"""The book's one training loop, and the sequence regressor of chapters 2 to 4.

:func:`train` is the loop: for a torch model, an optimiser, a loss function and a source of
batches, it runs explicit steps (zero the gradients, forward and loss, backward, clip the global
norm, step), evaluates on a validation source at intervals, follows a learning-rate schedule,
records a :class:`TrainHistory`, shows a progress bar when someone is watching, and saves and
resumes checkpoints (:mod:`rnnbook.checkpoint`) bit for bit. Everything it uses arrives as an
argument.

:func:`train_regressor` is :func:`train` set up for chapters 2 to 4: a recurrent layer with a linear
read-out of its last output, :math:`\\hat y = W_{hy} h_T + b_y` (:class:`SequenceRegressor`), the
mean squared error, Adam or SGD, and batches drawn by ``make_batch(rng)``.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable

import numpy as np
from rnnbook.checks import (check_bool, check_callable, check_int, check_option, check_positive, check_rng, check_size,
                            given, is_real_numeric, require_torch)

require_torch("rnnbook.train")  # a clear ImportError if torch is missing

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from tqdm import tqdm

from rnnbook.checkpoint import (CheckpointError, check_carry, check_model_state, random_states, read_checkpoint,
                                set_random_states, to_device, write_checkpoint)
from rnnbook.distributed import (World, barrier, current_world, gather_state, mean_over_ranks, same_on_every_rank,
                                 scatter_state, unwrap)
from rnnbook.torch.clip import clip_grad_norm_, grad_norm

#: The type of ``make_batch(rng) -> (X, y)``, which draws one training batch (inputs (T, B, D), targets (B, out_features)).
BatchFn = Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]
#: Whatever the batch source yields and the loss function takes.
Batch = Any   # whatever the batch source yields and the loss function takes
#: The state carried from one batch to the next: None, a tensor, or a tuple of tensors.
Carry = Any   # the state carried from one batch to the next: None, a tensor, or a tuple of tensors
#: The loss function, ``loss_fn(model, batch, carry) -> (loss, carry)``, with the state to carry on.
LossFn = Callable[[nn.Module, Batch, Carry], tuple[Tensor, Carry]]


@runtime_checkable
class BatchSource(Protocol):
    """What :func:`train` draws its training batches from: an iterator whose position can be saved.

    ``next(source)`` gives the next batch; ``state_dict()`` returns the position (and the state of
    any random generator the source draws from) as tensors and plain Python values (NumPy arrays
    are fine: checkpoints store them as lists); ``load_state_dict(state)`` puts a source that was
    built the same way back at that position. A source that raises ``StopIteration`` ends training
    early. A plain iterator works too, but then a run cannot be checkpointed.
    """

    def __next__(self) -> Batch: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


class RandomBatches:
    """A :class:`BatchSource` that calls ``make_batch(rng)`` with a generator of its own, seeded
    with ``seed``: the synthetic tasks of chapters 2 to 4. Its state is the generator's."""

    def __init__(self, make_batch: Callable[[np.random.Generator], Batch], seed: int) -> None:
        self.make_batch = check_callable("make_batch", make_batch, "a function make_batch(rng) -> batch")
        self.rng = np.random.default_rng(check_int("seed", seed, minimum=0))

    def __iter__(self) -> Iterator[Batch]:
        return self

    def __next__(self) -> Batch:
        return self.make_batch(self.rng)

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]


class SequenceRegressor(nn.Module):
    """A recurrent layer and a linear read-out of its last output: :math:`\\hat y = W_{hy} h_T + b_y`.

    Parameters
    ----------
    recurrent : nn.Module
        Time-major, returns ``(Y, state)``, and has a ``hidden_size`` attribute and parameters.
    out_features : int, default 1

    Raises
    ------
    TypeError
        If ``recurrent`` is not a torch module with an int ``hidden_size`` (a ``rnnbook.numpy``
        layer is not: use its ``rnnbook.torch`` twin), or ``out_features`` is not an int.
    ValueError
        If ``recurrent`` is batch-first or has no parameters, or ``out_features < 1``.
    """

    def __init__(self, recurrent: nn.Module, out_features: int = 1) -> None:
        super().__init__()
        if not isinstance(recurrent, nn.Module):
            hint = (f" (a NumPy layer: use rnnbook.torch.{type(recurrent).__name__} instead)"
                    if type(recurrent).__module__.startswith("rnnbook.numpy") else "")
            raise TypeError(f"recurrent must be a torch.nn.Module, got {given(recurrent)}{hint}")
        if getattr(recurrent, "batch_first", False):
            raise ValueError("recurrent must be time-major (batch_first=False), got a batch_first=True layer")
        if not isinstance(getattr(recurrent, "hidden_size", None), int):
            raise TypeError(f"recurrent must have an int hidden_size attribute, got {type(recurrent).__name__}")
        param = next(recurrent.parameters(), None)
        if param is None:
            raise ValueError(f"recurrent must have parameters to train, got a {type(recurrent).__name__} with none")
        self.recurrent = recurrent
        self.head = nn.Linear(cast(int, recurrent.hidden_size), check_size("out_features", out_features))  # an int: checked above
        self.head.to(param)  # same device and dtype as the layer

    def forward(self, X: Tensor) -> Tensor:
        """``X`` (T, B, D) to predictions (B, out_features)."""
        Y, _ = self.recurrent(X)  # (T, B, H)
        return self.head(Y[-1])   # y_hat = W_hy h_T + b_y   (B, out)


@dataclass(frozen=True)
class TrainConfig:
    """How to train: steps, learning rate, optimiser and clipping.

    ``max_norm=None`` disables clipping (otherwise it must be a positive number); ``seed`` fixes the batches drawn: it must be a
    non-negative int (NumPy ints are converted), never None, so every run is reproducible.

    Raises
    ------
    TypeError, ValueError
        If a field has the wrong type or is out of range.
    """

    steps: int = 300
    lr: float = 1e-2
    optimizer: str = "adam"
    max_norm: float | None = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # the dataclass is frozen: store the checked, converted values
        set_(self, "steps", check_size("steps", self.steps))
        set_(self, "lr", check_positive("lr", self.lr))
        check_option("optimizer", self.optimizer, ("adam", "sgd"))
        if self.max_norm is not None:
            set_(self, "max_norm", check_positive("max_norm", self.max_norm))
        set_(self, "seed", check_int("seed", self.seed, minimum=0))


@dataclass(frozen=True)
class LoopConfig:
    """How :func:`train` runs: how many steps, clipping, and how often to evaluate and checkpoint.

    ``steps`` is the total to reach (a resumed run continues from the checkpoint's step up to it).
    ``max_norm=None`` disables clipping. ``eval_every=k`` evaluates on the validation source after
    every k-th step (counted from the start of the run, so a resumed run evaluates where the
    uninterrupted one does); ``checkpoint_every=k`` saves after every k-th step (and after
    the last one whenever a checkpoint path is given). ``progress=None`` shows a tqdm bar only when
    standard error is a terminal and the environment variable ``CI`` is not set (so never under
    nbval or in CI); ``RNNBOOK_PROGRESS=0`` or ``1`` overrides that, and ``True``/``False`` override both.

    Raises
    ------
    TypeError, ValueError
        If a field has the wrong type or is out of range.
    """

    steps: int
    max_norm: float | None = None
    eval_every: int | None = None
    checkpoint_every: int | None = None
    progress: bool | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "steps", check_size("steps", self.steps))
        if self.max_norm is not None:
            set_(self, "max_norm", check_positive("max_norm", self.max_norm))
        for name in ("eval_every", "checkpoint_every"):
            if getattr(self, name) is not None:
                set_(self, name, check_size(name, getattr(self, name)))
        if self.progress is not None:
            check_bool("progress", self.progress)


def show_progress(progress: bool | None = None) -> bool:
    """Whether to draw a progress bar: ``progress`` if given, else ``RNNBOOK_PROGRESS`` (0 or 1) if
    set, else only on a terminal outside CI (nbval's kernels have no terminal: silent there)."""
    if progress is not None:
        return bool(progress)
    forced = os.environ.get("RNNBOOK_PROGRESS", "")
    if forced in ("0", "1"):
        return forced == "1"
    isatty = getattr(sys.stderr, "isatty", None)  # sys.stderr may be None (pythonw) or a stream without isatty
    return not os.environ.get("CI") and callable(isatty) and bool(isatty())


@dataclass
class TrainHistory:
    """What a run recorded, one entry per step: the loss, the gradient norm before clipping and the
    learning rate; and at each evaluation, the step and the validation loss. ``seconds`` is the
    wall time of this process's part of the run (not saved in checkpoints)."""

    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    lrs: list[float] = field(default_factory=list)
    val_steps: list[int] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)

    @property
    def seconds_per_step(self) -> float:
        return self.seconds / max(len(self.losses), 1)

    def final_loss(self, last: int = 20) -> float:
        """The mean loss over the last ``last`` steps (one step's loss is noisy)."""
        return float(np.mean(self.losses[-last:]))


def evaluate(model: nn.Module, loss_fn: LossFn, batches: Iterable[Batch]) -> float:
    """The mean of ``loss_fn`` over ``batches``, without gradients, in eval mode, the carried state
    starting from None and passed along (so a stream is evaluated as one long sequence).

    Raises
    ------
    ValueError
        If ``batches`` yields nothing.
    """
    was_training = model.training
    model.eval()
    total, count, carry = 0.0, 0, None
    try:
        with torch.no_grad():
            for batch in batches:
                loss, carry = loss_fn(model, batch, carry)
                total += loss.item()
                count += 1
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("the validation source yielded no batch")
    return total / count


def _validation_batches(validation: Any) -> Iterable[Batch]:
    """A fresh iterable of validation batches: ``validation()`` if it is a function, else itself
    (which must be re-iterable, like a list: a one-shot iterator would be empty the second time)."""
    batches = validation() if callable(validation) else validation
    if not isinstance(batches, Iterable):
        raise TypeError(f"validation must be a re-iterable of batches (a list) or a function returning an "
                        f"iterable of batches, got {given(batches)}")
    if iter(batches) is batches and not callable(validation):
        raise TypeError("validation must be re-iterable (a list, or a function returning a fresh iterator), "
                        "got a one-shot iterator: it would be empty at the second evaluation")
    return batches


def _batch_tensors(batch: object, like: Tensor) -> tuple[Tensor, Tensor]:
    """A batch ``(X, y)`` from ``make_batch``, checked and moved to the device and dtype of ``like``."""
    if not isinstance(batch, tuple) or len(batch) != 2:
        raise TypeError(f"make_batch must return a pair (X, y) of arrays, got {given(batch)}")
    out = []
    for name, value in zip(("X", "y"), batch):
        if not hasattr(value, "shape") or not is_real_numeric(getattr(value, "dtype", None)):
            raise TypeError(f"make_batch's {name} must be a real-valued array, got {given(value)}")
        out.append(torch.as_tensor(value, dtype=like.dtype, device=like.device))
    return out[0], out[1]


def _check_model(model: Any) -> Tensor:
    """The first parameter of ``model`` (for its device and dtype), after checking it is a torch module with one."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {given(model)}")
    param = next(model.parameters(), None)
    if param is None:
        raise ValueError(f"model must have parameters to train, got a {type(model).__name__} with none")
    return param


def _save(path: Path, step: int, model: nn.Module, optimizer: torch.optim.Optimizer, batches: Any, carry: Carry,
          history: TrainHistory, generators: Mapping[str, np.random.Generator], world: World) -> None:
    """Write a checkpoint. Data-parallel: every rank calls it (the carried state is gathered to the
    global batch), rank 0 alone writes, and the others wait until the file is there."""
    carry = gather_state(carry, world)
    data = batches.state_dict()
    if not same_on_every_rank(data, world):
        raise ValueError("the batch source's state_dict() differs between ranks, so one checkpoint cannot resume "
                         "every rank: deal each rank's rows of one global batch (e.g. StreamBatcher(..., rank=, "
                         "world_size=)), whose position is the same everywhere")
    if world.is_main:
        record = asdict(history)
        del record["seconds"]  # wall time is this process's, not the run's
        write_checkpoint(path, {
            "step": step, "model": unwrap(model).state_dict(), "optimizer": optimizer.state_dict(),
            "optimizer_type": type(optimizer).__name__, "data": data, "data_type": type(batches).__name__,
            "carry": carry, "history": record, "random": random_states(generators)})
    barrier(world)


def _resume(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, batches: Any, history: TrainHistory,
            generators: Mapping[str, np.random.Generator], device: torch.device, world: World) -> tuple[int, Carry]:
    """Load the checkpoint at ``path`` into everything; return its step and this rank's rows of the carried state."""
    saved = read_checkpoint(path)
    model = unwrap(model)
    check_model_state(path, saved["model"], model.state_dict())
    if saved["optimizer_type"] != type(optimizer).__name__:
        raise CheckpointError(f"{path} was saved with a {saved['optimizer_type']} optimizer, "
                              f"but a {type(optimizer).__name__} was given")
    if saved["data_type"] != type(batches).__name__:
        raise CheckpointError(f"{path} was saved with a {saved['data_type']} batch source, "
                              f"but a {type(batches).__name__} was given")
    model.load_state_dict(saved["model"])
    try:
        optimizer.load_state_dict(saved["optimizer"])
    except (ValueError, KeyError) as err:
        raise CheckpointError(f"{path} holds an optimizer state that does not fit this optimizer: {err}") from None
    batches.load_state_dict(saved["data"])
    set_random_states(saved["random"], generators)
    for name in ("losses", "grad_norms", "lrs", "val_steps", "val_losses"):
        setattr(history, name, list(saved["history"][name]))
    return int(saved["step"]), to_device(scatter_state(saved["carry"], world), device)


def train(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: LossFn, batches: Iterator[Batch],
          config: LoopConfig, *, validation: Any = None, schedule: Callable[[int], float] | None = None,
          checkpoint: str | os.PathLike[str] | None = None, resume_from: str | os.PathLike[str] | None = None,
          generators: Mapping[str, np.random.Generator] | None = None) -> TrainHistory:
    """Train ``model`` with ``optimizer`` on ``loss_fn`` over ``batches``: the book's one training loop.

    Each step is, in this order: zero the gradients; ``loss, carry = loss_fn(model, batch, carry)``
    (forward and loss; ``carry`` is the state a stateful model passes from one chunk to the next,
    already detached by ``loss_fn``, None for models without one); backward; record the loss and
    the gradients' global norm; clip that norm to ``config.max_norm``; set the learning rate from
    ``schedule``; optimiser step.

    Parameters
    ----------
    model : nn.Module
    optimizer : torch.optim.Optimizer
        Over ``model``'s parameters.
    loss_fn : callable
        ``loss_fn(model, batch, carry) -> (loss, carry)``: a 0-d tensor and the state to carry into
        the next batch (None, a tensor or a tuple of tensors), e.g.
        :func:`rnnbook.torch.charlm.lm_loss`. It moves the batch to the model's device.
    batches : iterator of batches
        ``next(batches)`` once per step; a :class:`BatchSource` (with ``state_dict`` and
        ``load_state_dict``) if the run is checkpointed. Exhausting it ends the run early.
    config : LoopConfig
    validation : list of batches, or function returning an iterable of batches, optional
        Evaluated with :func:`evaluate` after every ``config.eval_every``-th step (needs ``eval_every``).
    schedule : callable, optional
        ``schedule(step) -> lr`` for the 0-based step about to be taken; sets every parameter
        group's learning rate. Without it the optimiser's own learning rate is kept.
    checkpoint : path, optional
        Where to save checkpoints: every ``config.checkpoint_every`` steps and after the last step.
    resume_from : path, optional
        A checkpoint to resume from: the model, optimiser, batch source, carried state, random
        states and history are restored, and training continues from its step to ``config.steps``.
    generators : dict of name to numpy.random.Generator, optional
        Further NumPy generators the run draws from (e.g. inside ``loss_fn``): saved and restored
        with the checkpoints. Generators inside ``batches`` are its ``state_dict``'s business.

    Data-parallel training (chapter 13) is this same loop, in every process that ``torchrun``
    started, with ``model`` wrapped in ``DistributedDataParallel`` (:func:`rnnbook.distributed.wrap`),
    which averages the gradients over the ranks during ``backward``, and ``batches`` dealing this
    rank's rows of the global batch (e.g. ``StreamBatcher(..., rank=, world_size=)``). The loop
    then records the loss and validation loss averaged over the ranks (the global batch's, so every
    rank records, and stops on, the same values); checkpoints hold the inner model and the carried
    state gathered to the global batch, written by rank 0 alone; and a checkpoint resumes on any
    number of processes, each taking its rows of the saved state.

    Returns
    -------
    TrainHistory
        The whole run's, a resumed one included. A step whose loss is NaN or infinite is recorded
        and ends the run (an exploding run shows up there, rather than as a silent NaN later); so
        does a step whose gradient norm is NaN or infinite when clipping is on (clipping cannot
        repair it). Without clipping, such a step is taken as it is: that is what an unclipped run
        does (chapter 2 shows the result).

    Raises
    ------
    TypeError
        If an argument has the wrong type, or a checkpoint is asked for with a batch source that
        has no ``state_dict``/``load_state_dict``.
    ValueError
        If ``model`` has no parameters, ``validation`` and ``config.eval_every`` come one without
        the other, a process group of several ranks is up but ``model`` is not wrapped in
        ``DistributedDataParallel`` (each rank would train a replica of its own), or, when
        checkpointing, the batch source's position differs between ranks.
    rnnbook.checkpoint.CheckpointError
        If ``resume_from`` is corrupt, truncated, of another format version, or was saved from a
        model, optimiser or batch source that differs from these (the error names what differs).
    """
    param = _check_model(model)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {given(optimizer)}")
    check_callable("loss_fn", loss_fn, "a function loss_fn(model, batch, carry) -> (loss, carry)")
    if not isinstance(batches, Iterator):
        raise TypeError(f"batches must be an iterator of batches (next(batches) each step), got {given(batches)}")
    if not isinstance(config, LoopConfig):
        raise TypeError(f"config must be a LoopConfig, got {given(config)}")
    if (validation is None) != (config.eval_every is None):
        raise ValueError("validation and config.eval_every go together: give both or neither")
    if schedule is not None:
        check_callable("schedule", schedule, "a function schedule(step) -> learning rate")
    generators = dict(generators or {})
    for name, g in generators.items():
        check_rng(g, f"generators[{name!r}]")
    if (checkpoint is not None or resume_from is not None) and not isinstance(batches, BatchSource):
        raise TypeError(f"a checkpointed run needs a batch source with state_dict() and load_state_dict() "
                        f"(see rnnbook.train.BatchSource), got {given(batches)}")
    world = current_world(param.device)
    if world.world_size > 1 and not isinstance(model, DistributedDataParallel):
        raise ValueError(f"a process group of {world.world_size} ranks is up, but model is a {type(model).__name__}, "
                         f"not wrapped in DistributedDataParallel: each rank would train a replica of its own "
                         f"(wrap it with rnnbook.distributed.wrap)")
    history, step, carry = TrainHistory(), 0, None
    if resume_from is not None:
        step, carry = _resume(Path(resume_from), model, optimizer, batches, history, generators, param.device, world)
    bar = tqdm(total=config.steps, initial=step, disable=not (show_progress(config.progress) and world.is_main),
               file=sys.stderr, unit="step", dynamic_ncols=True)
    model.train()
    start = time.perf_counter()
    while step < config.steps:
        try:
            batch = next(batches)
        except StopIteration:
            break
        optimizer.zero_grad(set_to_none=True)            # 1. zero the gradients
        loss, carry = loss_fn(model, batch, check_carry(carry))  # 2. forward and loss
        if not isinstance(loss, Tensor) or loss.dim() != 0:
            raise TypeError(f"loss_fn must return (loss, carry) with a 0-d tensor loss, got {given(loss)}")
        check_carry(carry)
        loss.backward()                                  # 3. backward
        norm = grad_norm(model.parameters())
        history.losses.append(mean_over_ranks(loss.detach(), world).item())  # the global batch's loss
        history.grad_norms.append(norm.item())
        if not np.isfinite(history.losses[-1]):
            break                                        # recorded: an exploding run stops here
        if config.max_norm is not None:
            if not np.isfinite(history.grad_norms[-1]):
                break                                    # recorded; clipping cannot repair NaN or inf
            clip_grad_norm_(model.parameters(), config.max_norm)  # 4. clip the global norm
        if schedule is not None:
            lr = check_positive(f"schedule({step})", schedule(step))
            for group in optimizer.param_groups:
                group["lr"] = lr
        history.lrs.append(float(optimizer.param_groups[0]["lr"]))
        optimizer.step()                                 # 5. step
        step += 1
        bar.update(1)
        if bar.disable is False and step % 10 == 0:
            bar.set_postfix(loss=f"{history.losses[-1]:.4f}", refresh=False)
        if config.eval_every is not None and step % config.eval_every == 0:
            history.val_steps.append(step)
            val = evaluate(model, loss_fn, _validation_batches(validation))
            if world.world_size > 1:  # the mean of the ranks' shares of the validation batches
                val = mean_over_ranks(torch.tensor(val, dtype=torch.float64, device=param.device), world).item()
            history.val_losses.append(val)
        if checkpoint is not None and (step == config.steps or (
                config.checkpoint_every is not None and step % config.checkpoint_every == 0)):
            _save(Path(checkpoint), step, model, optimizer, batches, carry, history, generators, world)
    bar.close()
    if param.device.type == "cuda":
        torch.cuda.synchronize(param.device)
    history.seconds = time.perf_counter() - start
    return history


def _mse_loss(model: nn.Module, batch: Batch, carry: Carry) -> tuple[Tensor, Carry]:
    """The regressor's loss: a batch ``(X, y)`` of arrays, moved to the model's device and dtype."""
    X, y = _batch_tensors(batch, next(model.parameters()))
    y_hat = model(X)
    if y_hat.shape != y.shape:
        raise ValueError(f"make_batch's targets y must have the shape of the model's predictions "
                         f"{tuple(y_hat.shape)}, got {tuple(y.shape)}")
    return torch.mean((y_hat - y) ** 2), None


def train_regressor(model: nn.Module, make_batch: BatchFn, config: TrainConfig) -> TrainHistory:
    """Train ``model`` on batches from ``make_batch`` to minimise the mean squared error, with :func:`train`.

    Parameters
    ----------
    model : nn.Module
        Maps ``X`` (T, B, D) to predictions (B, out), e.g. a :class:`SequenceRegressor`.
    make_batch : callable
        ``make_batch(rng) -> (X, y)`` with NumPy arrays ``X`` (T, B, D) and ``y`` (B, out); e.g.
        ``lambda rng: adding_problem(64, 50, rng)``. Batches are moved to the model's device and dtype.
    config : TrainConfig

    Returns
    -------
    TrainHistory
        A step whose loss is NaN or infinite is recorded as such and training stops there (this
        is how an exploding run shows up, rather than as a silent NaN later). So does a step
        whose gradient norm is NaN or infinite when clipping is on: clipping cannot repair it
        (:func:`rnnbook.torch.clip.clip_grad_norm_` would raise). Without clipping, such a step
        is taken as it is: that is what an unclipped run does (chapter 2 shows the result).

    Raises
    ------
    TypeError
        If ``model`` is not a torch module, ``make_batch`` cannot be called or returns something
        other than a pair of arrays, or ``config`` is not a :class:`TrainConfig`.
    ValueError
        If ``model`` has no parameters, or the targets ``y`` do not have the shape of the model's
        predictions (a ``(B,)`` target against ``(B, 1)`` predictions would broadcast to a
        ``(B, B)`` loss).
    """
    _check_model(model)
    check_callable("make_batch", make_batch, "a function make_batch(rng) -> (X, y)")
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {given(config)}")
    opt_cls = torch.optim.Adam if config.optimizer == "adam" else torch.optim.SGD
    optimizer = opt_cls(model.parameters(), lr=config.lr)
    return train(model, optimizer, _mse_loss, RandomBatches(make_batch, config.seed),
                 LoopConfig(steps=config.steps, max_norm=config.max_norm))
