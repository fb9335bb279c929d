"""Parallel recurrences in torch (chapter 12): the log-space scan, minGRU and minLSTM.

A recurrence linear in its state, :math:`h_t = a_t \\odot h_{t-1} + b_t` (eq. ``scan-linear``), has the
closed form :math:`h_t = \\sum_{s \\le t} \\big(\\prod_{s < r \\le t} a_r\\big) b_s`. For positive
:math:`a_t, b_t` it is computed in log space with two cumulative operations over time
(:func:`log_scan`, eq. ``scan-log``)::

    a*_t = sum_{r <= t} log a_r,     log h_t = a*_t + logcumsumexp_t(log b_t - a*_t)

minGRU and minLSTM (Feng et al., 2024) drop the recurrent weights from the gates, so that
:math:`a_t, b_t` depend on :math:`x_t` alone and the whole sequence is one such scan::

    minGRU:   z_t = sigmoid(W_z x_t + b_z),  h~_t = g(W_h x_t + b_h),  h_t = (1 - z_t) h_{t-1} + z_t h~_t
    minLSTM:  f_t, i_t = sigmoid(...),  f'_t, i'_t = f_t, i_t / (f_t + i_t),  h_t = f'_t h_{t-1} + i'_t h~_t

with :math:`g(x) = x + 1/2` for :math:`x \\ge 0` and :math:`\\mathrm{sigmoid}(x)` otherwise, which keeps
:math:`h` positive. Each layer has two modes: ``"sequential"`` (step by step, carrying state: generation)
and ``"parallel"`` (the log-space scan: training); they compute the same function. Time-major ``(T, B, D)``;
the state is ``(1, B, H)`` like ``torch.nn.GRU``'s.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnbook.checks import check_option, check_size, given

#: The two ways of running a layer (step by step, or one scan over the whole sequence).
MODES = ("sequential", "parallel")


def g(x: Tensor) -> Tensor:
    """The positive activation of minGRU/minLSTM: ``x + 1/2`` for ``x >= 0``, ``sigmoid(x)`` below (continuous at 0)."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: Tensor) -> Tensor:
    """``log g(x)``, computed without forming ``g(x)`` for negative ``x`` (``F.logsigmoid``, exact for any ``x``;
    ``-F.softplus(-x)`` would not be: softplus turns linear above 20, an error of ``e^-20`` there)."""
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), F.logsigmoid(x))


def linear_recurrence(a: Tensor, b: Tensor, h0: Tensor | None = None) -> Tensor:
    """The sequential loop ``h_t = a_t * h_{t-1} + b_t`` (eq. ``scan-linear``): T steps, each waiting for the last.

    ``a, b`` (T, ...), ``h0`` (...) or None (zeros). Returns ``h`` (T, ...).
    """
    _check_pair("a", a, "b", b)
    h = torch.zeros_like(b[0]) if h0 is None else h0
    out = []
    for a_t, b_t in zip(a.unbind(0), b.unbind(0)):   # unbind: its backward is one stack, not T full-size zero tensors
        h = a_t * h + b_t                               # h_t = a_t h_{t-1} + b_t
        out.append(h)
    return torch.stack(out)


def log_scan(log_a: Tensor, log_b: Tensor, log_h0: Tensor | None = None) -> Tensor:
    """``log h_t`` for ``h_t = a_t * h_{t-1} + b_t`` with positive ``a, b``, by two cumulative ops (eq. ``scan-log``).

    Parameters
    ----------
    log_a, log_b : Tensor, shape (T, ...)
        Logarithms of the coefficients (``-inf`` in ``log_b`` is a zero ``b``).
    log_h0 : Tensor, shape (...), optional
        The logarithm of the initial state; without it the state starts at zero.

    Returns
    -------
    log_h : Tensor, shape (T, ...)

    Raises
    ------
    TypeError, ValueError
        If the inputs are not floating-point tensors of one shape (T >= 1), or ``log_h0`` has the wrong shape.
    """
    _check_pair("log_a", log_a, "log_b", log_b)
    a_star = torch.cumsum(log_a, dim=0)                       # a*_t = sum_{r<=t} log a_r   (T, ...)
    if log_h0 is not None:
        if not isinstance(log_h0, Tensor) or log_h0.shape != log_a.shape[1:]:
            raise ValueError(f"log_h0 must be a tensor of shape {tuple(log_a.shape[1:])}, got {given(log_h0)}")
        a_star = torch.cat([torch.zeros_like(a_star[:1]), a_star])  # h0 enters as b_0 with a*_0 = 0
        log_b = torch.cat([log_h0[None], log_b])
    log_h = a_star + torch.logcumsumexp(log_b - a_star, dim=0)  # log h_t = a*_t + log sum_{s<=t} b_s / A_s
    return log_h if log_h0 is None else log_h[1:]


def _check_pair(name_a: str, a: object, name_b: str, b: object) -> None:
    for name, x in ((name_a, a), (name_b, b)):
        if not isinstance(x, Tensor) or not x.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got {given(x)}")
        if x.dim() < 1 or x.shape[0] < 1:
            raise ValueError(f"{name} must have shape (T, ...) with T >= 1, got {tuple(x.shape)}")
    assert isinstance(a, Tensor) and isinstance(b, Tensor)
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")


class MinRNN(nn.Module):
    """What minGRU and minLSTM share (one input projection, the two modes, the checks); subclasses define
    :meth:`coefficients` and :meth:`step`."""

    n_blocks = 2

    def __init__(self, input_size: int, hidden_size: int, mode: str = "parallel", *,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = check_size("hidden_size", hidden_size)
        self.mode = check_option("mode", mode, MODES)
        # the gate and candidate blocks stacked, like torch.nn's weight_ih: (n_blocks H, D)
        self.linear = nn.Linear(self.input_size, self.n_blocks * self.hidden_size, device=device, dtype=dtype)

    def coefficients(self, X: Tensor) -> tuple[Tensor, Tensor]:
        """``log a_t`` and ``log b_t`` of eq. ``scan-linear`` for every step, from the inputs alone, each (T, B, H)."""
        raise NotImplementedError

    def _check(self, X: object, h0: object) -> tuple[Tensor, Tensor | None]:
        if not isinstance(X, Tensor) or not X.is_floating_point():
            raise TypeError(f"X must be a floating-point tensor of shape (T, B, {self.input_size}), got {given(X)}")
        if X.dim() != 3 or X.shape[-1] != self.input_size or X.shape[0] < 1:
            raise ValueError(f"X must have shape (T, B, {self.input_size}) with T >= 1, got {tuple(X.shape)}")
        if h0 is None:
            return X, None
        if not isinstance(h0, Tensor) or h0.shape != (1, X.shape[1], self.hidden_size):
            raise ValueError(f"h0 must be a tensor of shape (1, {X.shape[1]}, {self.hidden_size}), got {given(h0)}")
        if not bool((h0 > 0).all()):
            raise ValueError("h0 must be positive everywhere (the state of minGRU/minLSTM is; the parallel mode "
                             f"takes its logarithm), got a minimum of {float(h0.min()):.3g}")
        return X, h0

    def forward(self, X: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``X`` (T, B, D) and the state ``h0`` (1, B, H) (positive; None: zeros) to ``(Y (T, B, H), h_T (1, B, H))``,
        in ``self.mode``: ``"parallel"`` (the log-space scan) or ``"sequential"`` (a loop over :meth:`step`).

        Raises
        ------
        TypeError, ValueError
            If ``X`` is not a float (T, B, input_size) tensor, or ``h0`` is not positive of shape (1, B, H).
        """
        X, h0 = self._check(X, h0)
        check_option("mode", self.mode, MODES)
        if self.mode == "parallel":
            log_a, log_b = self.coefficients(X)                                  # (T, B, H) each
            Y = torch.exp(log_scan(log_a, log_b, None if h0 is None else torch.log(h0[0])))
        else:
            h = torch.zeros(X.shape[1], self.hidden_size, dtype=X.dtype, device=X.device) if h0 is None else h0[0]
            out = []
            for x in X.unbind(0):                                                # x_t (B, D)
                h = self.step(x, h)
                out.append(h)
            Y = torch.stack(out)
        return Y, Y[-1:]

    def step(self, x: Tensor, h: Tensor) -> Tensor:
        """One step in ordinary space, ``x`` (B, D), ``h`` (B, H) to ``h_t`` (B, H): what generation runs."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, mode={self.mode!r}"


class MinGRU(MinRNN):
    """minGRU (Feng et al., 2024): ``h_t = (1 - z_t) h_{t-1} + z_t g(h~_t)``, gates from ``x_t`` alone.

    ``linear`` maps ``x_t`` to the stacked pre-activations ``(k_t, h~_t)`` (2H), ``z_t = sigmoid(k_t)``.
    2 (D H + H) parameters, against the GRU's 3 (D H + H H + 2 H).

    Parameters
    ----------
    input_size, hidden_size : int
    mode : {"parallel", "sequential"}, default "parallel"
        An attribute: set ``layer.mode`` to switch.
    device, dtype :
    """

    n_blocks = 2

    def coefficients(self, X: Tensor) -> tuple[Tensor, Tensor]:
        k, h_tilde = self.linear(X).chunk(2, dim=-1)         # (T, B, H) each
        log_z = F.logsigmoid(k)                               # log z_t = log sigmoid(k_t)
        log_a = F.logsigmoid(-k)                              # log (1 - z_t) = log sigmoid(-k_t)
        return log_a, log_z + log_g(h_tilde)                  # b_t = z_t g(h~_t)

    def step(self, x: Tensor, h: Tensor) -> Tensor:
        k, h_tilde = self.linear(x).chunk(2, dim=-1)
        z = torch.sigmoid(k)
        return (1 - z) * h + z * g(h_tilde)                   # h_t = (1 - z_t) h_{t-1} + z_t g(h~_t)


class MinLSTM(MinRNN):
    """minLSTM (Feng et al., 2024): ``h_t = f'_t h_{t-1} + i'_t g(h~_t)`` with ``f', i' = f, i / (f + i)``.

    ``linear`` maps ``x_t`` to the stacked pre-activations of ``f_t, i_t, h~_t`` (3H). The normalised
    gates sum to one, so ``h`` stays in the range of ``g(h~)`` whatever T is. 3 (D H + H) parameters.

    Parameters
    ----------
    input_size, hidden_size : int
    mode : {"parallel", "sequential"}, default "parallel"
    device, dtype :
    """

    n_blocks = 3

    def coefficients(self, X: Tensor) -> tuple[Tensor, Tensor]:
        f_pre, i_pre, h_tilde = self.linear(X).chunk(3, dim=-1)   # (T, B, H) each
        diff = F.logsigmoid(i_pre) - F.logsigmoid(f_pre)           # log i_t - log f_t
        log_f = F.logsigmoid(-diff)                                # log f'_t = log f_t - log (f_t + i_t) = log sigmoid(-diff)
        log_i = F.logsigmoid(diff)                                 # log i'_t
        return log_f, log_i + log_g(h_tilde)

    def step(self, x: Tensor, h: Tensor) -> Tensor:
        f_pre, i_pre, h_tilde = self.linear(x).chunk(3, dim=-1)
        f, i = torch.sigmoid(f_pre), torch.sigmoid(i_pre)
        return (f * h + i * g(h_tilde)) / (f + i)               # h_t = f'_t h_{t-1} + i'_t g(h~_t)


#: The parallel cells by name.
MIN_CELLS: dict[str, type[MinRNN]] = {"mingru": MinGRU, "minlstm": MinLSTM}


class MinCharModel(nn.Module):
    """Tokens -> one-hot -> :class:`MinGRU` or :class:`MinLSTM` -> ``nn.Linear`` head: chapter 5's
    :class:`~rnnbook.torch.charlm.CharModel` with a parallel cell (same calling convention, so
    :func:`~rnnbook.torch.charlm.lm_loss` and chapter 7's copy-task loss take it).

    Parameters
    ----------
    vocab_size, hidden_size : int
    cell : {"mingru", "minlstm"}
    mode : {"parallel", "sequential"}, default "parallel"
    """

    def __init__(self, vocab_size: int, hidden_size: int, cell: str = "mingru", mode: str = "parallel", *,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.vocab_size = check_size("vocab_size", vocab_size)
        self.cell = check_option("cell", cell, tuple(MIN_CELLS))
        self.recurrent = MIN_CELLS[cell](self.vocab_size, hidden_size, mode, device=device, dtype=dtype)
        self.head = nn.Linear(self.recurrent.hidden_size, self.vocab_size, device=device, dtype=dtype)

    def forward(self, inputs: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``inputs`` (T, B) of token indices to logits (T, B, V) and the final state (1, B, H)."""
        if not isinstance(inputs, Tensor) or inputs.is_floating_point() or inputs.dim() != 2:
            raise TypeError(f"inputs must be an integer tensor of shape (T, B), got {given(inputs)}")
        X = F.one_hot(inputs.long().to(self.head.weight.device), self.vocab_size).to(self.head.weight.dtype)
        Y, state = self.recurrent(X, state)                     # (T, B, H)
        return self.head(Y), state
