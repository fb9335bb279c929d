"""A small, explicit training loop for sequence regression with torch (chapters 2 to 4).

The model is any recurrent layer that maps time-major ``X (T, B, D)`` to ``(Y, state)`` (ours or
``torch.nn.RNN/LSTM/GRU``), followed by a linear read-out of its last output,
:math:`\\hat y = W_{hy} h_T + b_y`. Training minimises the mean squared error with Adam or SGD,
clipping the gradients' global norm when asked. Everything the loop uses arrives as an argument.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import numpy as np
from rnnbook.checks import (check_callable, check_int, check_option, check_positive, check_size, given, is_real_numeric,
                            require_torch)

require_torch("rnnbook.train")  # a clear ImportError if torch is missing

import torch
from torch import Tensor, nn

from rnnbook.torch.clip import clip_grad_norm_, grad_norm

#: The type of ``make_batch(rng) -> (X, y)``, which draws one training batch (inputs (T, B, D), targets (B, out_features)).
BatchFn = Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]


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


@dataclass
class TrainHistory:
    """What a run recorded, one entry per step: the loss and the gradient norm before clipping."""

    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def seconds_per_step(self) -> float:
        return self.seconds / max(len(self.losses), 1)

    def final_loss(self, last: int = 20) -> float:
        """The mean loss over the last ``last`` steps (one step's loss is noisy)."""
        return float(np.mean(self.losses[-last:]))


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


def train_regressor(model: nn.Module, make_batch: BatchFn, config: TrainConfig) -> TrainHistory:
    """Train ``model`` on batches from ``make_batch`` to minimise the mean squared error.

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
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {given(model)}")
    param = next(model.parameters(), None)
    if param is None:
        raise ValueError(f"model must have parameters to train, got a {type(model).__name__} with none")
    check_callable("make_batch", make_batch, "a function make_batch(rng) -> (X, y)")
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {given(config)}")
    rng = np.random.default_rng(config.seed)
    opt_cls = torch.optim.Adam if config.optimizer == "adam" else torch.optim.SGD
    opt = opt_cls(model.parameters(), lr=config.lr)
    history = TrainHistory()
    start = time.perf_counter()
    for _ in range(config.steps):
        X, y = _batch_tensors(make_batch(rng), param)
        y_hat = model(X)
        if y_hat.shape != y.shape:
            raise ValueError(f"make_batch's targets y must have the shape of the model's predictions "
                             f"{tuple(y_hat.shape)}, got {tuple(y.shape)}")
        loss = torch.mean((y_hat - y) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = grad_norm(model.parameters())
        history.losses.append(loss.item())
        history.grad_norms.append(norm.item())
        if not np.isfinite(history.losses[-1]):
            break
        if config.max_norm is not None:
            if not np.isfinite(history.grad_norms[-1]):
                break  # recorded; clipping cannot repair NaN or inf
            clip_grad_norm_(model.parameters(), config.max_norm)
        opt.step()
    if param.device.type == "cuda":
        torch.cuda.synchronize(param.device)
    history.seconds = time.perf_counter() - start
    return history
