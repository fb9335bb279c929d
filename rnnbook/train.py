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
import torch
from torch import Tensor, nn

from rnnbook.torch.clip import clip_grad_norm_, grad_norm

BatchFn = Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]


class SequenceRegressor(nn.Module):
    """A recurrent layer and a linear read-out of its last output: :math:`\\hat y = W_{hy} h_T + b_y`.

    Parameters
    ----------
    recurrent : nn.Module
        Time-major, returns ``(Y, state)``, and has a ``hidden_size`` attribute.
    out_features : int, default 1
    """

    def __init__(self, recurrent: nn.Module, out_features: int = 1) -> None:
        super().__init__()
        if getattr(recurrent, "batch_first", False):
            raise ValueError("recurrent must be time-major (batch_first=False)")
        if not isinstance(getattr(recurrent, "hidden_size", None), int):
            raise TypeError(f"recurrent must have an int hidden_size attribute, got {type(recurrent).__name__}")
        self.recurrent = recurrent
        self.head = nn.Linear(cast(int, recurrent.hidden_size), out_features)  # an int: checked above
        self.head.to(next(recurrent.parameters()))  # same device and dtype as the layer

    def forward(self, X: Tensor) -> Tensor:
        """``X`` (T, B, D) to predictions (B, out_features)."""
        Y, _ = self.recurrent(X)  # (T, B, H)
        return self.head(Y[-1])   # y_hat = W_hy h_T + b_y   (B, out)


@dataclass(frozen=True)
class TrainConfig:
    """How to train: steps, learning rate, optimiser and clipping.

    ``max_norm=None`` disables clipping; ``seed`` fixes the batches drawn.
    """

    steps: int = 300
    lr: float = 1e-2
    optimizer: str = "adam"
    max_norm: float | None = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"steps must be a positive int, got {self.steps!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if self.max_norm is not None and not self.max_norm > 0:
            raise ValueError(f"max_norm must be positive or None, got {self.max_norm}")


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
        A step whose loss is NaN or infinite is recorded as such and training stops there
        (this is how an exploding run shows up, rather than as a silent NaN later).
    """
    param = next(model.parameters())
    rng = np.random.default_rng(config.seed)
    opt_cls = torch.optim.Adam if config.optimizer == "adam" else torch.optim.SGD
    opt = opt_cls(model.parameters(), lr=config.lr)
    history = TrainHistory()
    start = time.perf_counter()
    for _ in range(config.steps):
        X_np, y_np = make_batch(rng)
        X = torch.as_tensor(X_np, dtype=param.dtype, device=param.device)
        y = torch.as_tensor(y_np, dtype=param.dtype, device=param.device)
        loss = torch.mean((model(X) - y) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if config.max_norm is not None:
            norm = clip_grad_norm_(model.parameters(), config.max_norm)
        else:
            norm = grad_norm(model.parameters())
        history.losses.append(loss.item())
        history.grad_norms.append(norm.item())
        if not np.isfinite(history.losses[-1]):
            break
        opt.step()
    if param.device.type == "cuda":
        torch.cuda.synchronize(param.device)
    history.seconds = time.perf_counter() - start
    return history
