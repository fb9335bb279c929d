"""The optimisation ladder: one LSTM or GRU layer, implemented rung by rung, each rung one code path.

:class:`LadderLSTM` and :class:`LadderGRU` are single-layer ``torch.nn.LSTM`` / ``torch.nn.GRU``
(time-major by default, the GRU in ``torch.nn``'s form: the reset gate after :math:`W_{hn}`), with
the parameters named as theirs (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``),
so a ``torch.nn`` state dict loads as it is. What differs is ``impl``, the rung of :data:`RUNGS`;
parameters, checks and state handling are shared, and every rung computes the same outputs and
gradients (tests/test_ladder.py proves it against ``torch.nn`` in float64).

A step of either layer is one product :math:`h_{t-1} W_{hh}^\\top` that must wait for the previous
step, a product :math:`x_t W_{ih}^\\top` that need not, and pointwise maths. Each rung removes one
cost:

1. ``naive``: per step two matrix products and separate pointwise ops; autograd's backward.
2. ``premul``: :math:`X W_{ih}^\\top` and the biases for all T steps in one product before the loop.
3. ``handwritten``: the backward of chapters 3 and 4 written by hand as one ``autograd.Function``
   (:mod:`rnnbook.torch.kernels`): autograd records one node for the whole sequence instead of one
   per op and step, and the weight gradients are one product over all steps after the loop.
4. ``fused``: rung 3 with each step's pointwise maths, forward and backward, compiled by
   ``torch.compile`` into one kernel. Where it cannot compile (no C++ compiler on the CPU, no
   Triton on the GPU), it warns and runs rung 3's eager cells. ``triton`` is the same rung with the
   kernels written by hand in Triton (:mod:`rnnbook.torch.triton_cells`); it needs Triton, and a
   GPU or Triton's interpreter.
5. ``graphed``: rung 3's forward and backward loops captured once as CUDA graphs per input shape
   (``torch.cuda.make_graphed_callables``) and replayed: one call from Python per pass instead of
   one kernel launch per op and step. CUDA only; an error on other devices.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from rnnbook.checks import check_bool, check_option, check_sequence, check_size, check_state, check_state_pair
from rnnbook.torch.kernels import (EAGER, Cells, GRUFunction, LSTMFunction, compile_problem, fused_cells, gru_pointwise,
                                   lstm_pointwise)
from rnnbook.torch.triton_cells import triton_cells, triton_problem

#: The rungs of the ladder, in order, each with what it changes.
RUNGS = {
    "naive": "per step two matrix products (x_t and h_{t-1}) and separate pointwise ops; autograd backward",
    "premul": "the input projection and biases of all steps as one matrix product before the loop",
    "handwritten": "premul + the book's backward as an autograd.Function; weight gradients in one product after the loop",
    "fused": "handwritten + each step's pointwise maths, forward and backward, one kernel (torch.compile)",
    "triton": "handwritten + each step's pointwise maths in hand-written Triton kernels (GPU, or TRITON_INTERPRET=1)",
    "graphed": "handwritten + forward and backward loops captured as CUDA graphs per input shape (CUDA only)",
}


def rung_problem(impl: str, device: torch.device | str) -> str | None:
    """Why rung ``impl`` cannot run as itself on ``device`` here, or None if it can.

    ``"graphed"`` needs CUDA; ``"triton"`` needs Triton, and CUDA or ``TRITON_INTERPRET=1``;
    ``"fused"`` needs a working ``torch.compile`` (where it has none it still runs, with rung 3's
    eager cells: a benchmark would time rung 3 twice).

    Raises
    ------
    ValueError
        If ``impl`` is not one of :data:`RUNGS`.
    """
    check_option("impl", impl, RUNGS)
    device = torch.device(device)
    if impl == "graphed" and device.type != "cuda":
        return f"CUDA graphs need a CUDA device, not {device.type}"
    if impl == "triton":
        return triton_problem(device)
    if impl == "fused":
        return compile_problem(device.type)
    return None


class LadderLayer(nn.Module):
    """What both ladder layers share: parameters as ``torch.nn``'s layer 0, checks, ``impl``.

    Parameters and errors as :class:`LadderLSTM`; use that class or :class:`LadderGRU`.
    """

    gate_count = 1

    def __init__(self, input_size: int, hidden_size: int, impl: str = "premul", batch_first: bool = False,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = check_size("hidden_size", hidden_size)
        self.impl = check_option("impl", impl, RUNGS)
        self.batch_first = check_bool("batch_first", batch_first)
        if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(f"dtype must be None or a floating torch dtype such as torch.float32, got {dtype!r}")
        GH = self.gate_count * self.hidden_size
        kw: dict[str, Any] = {"device": device, "dtype": dtype}
        self.weight_ih_l0 = nn.Parameter(torch.empty(GH, self.input_size, **kw))
        self.weight_hh_l0 = nn.Parameter(torch.empty(GH, self.hidden_size, **kw))
        self.bias_ih_l0 = nn.Parameter(torch.empty(GH, **kw))
        self.bias_hh_l0 = nn.Parameter(torch.empty(GH, **kw))
        self.reset_parameters()
        self._graphs: dict[tuple, Callable[..., Any]] = {}  # rung "graphed": one capture per input signature

    def reset_parameters(self) -> None:
        """Uniform in :math:`[-1/\\sqrt{H}, 1/\\sqrt{H}]`, as ``torch.nn`` initialises."""
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -k, k)

    def _params(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        return self.weight_ih_l0, self.weight_hh_l0, self.bias_ih_l0, self.bias_hh_l0

    def _check(self, x: Any, name: str, B: int | None = None) -> None:
        """``x`` a tensor with the parameters' dtype and device, of shape (B, H) if ``B`` is given."""
        if not isinstance(x, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if B is not None:
            check_state(x, B, self.hidden_size, name)
        w = self.weight_ih_l0
        if x.dtype != w.dtype:
            raise TypeError(f"{name} has dtype {x.dtype} but the layer's parameters are {w.dtype}")
        if x.device != w.device:
            raise ValueError(f"{name} is on {x.device} but the layer's parameters are on {w.device}")

    def _inputs(self, X: Any) -> tuple[Tensor, int, int]:
        """``X`` checked, time-major, contiguous, with ``(T, B)``."""
        self._check(X, "X")
        if self.batch_first and X.dim() == 3:
            X = X.transpose(0, 1)
        T, B = check_sequence(X, self.input_size, "X (time-major view)" if self.batch_first else "X")
        if self.impl == "graphed" and X.device.type != "cuda":
            raise ValueError(f"impl='graphed' captures CUDA graphs and needs the layer and X on a CUDA device, "
                             f"got {X.device}; on this device use impl='handwritten' (the same code, ungraphed)")
        return X.contiguous(), T, B

    def _state(self, s: Any, B: int, like: Tensor, name: str) -> Tensor:
        """An initial state as (B, H): given as ``torch.nn``'s (1, B, H) or as (B, H); zeros if None."""
        if s is None:
            return like.new_zeros(B, self.hidden_size)
        if isinstance(s, Tensor) and s.dim() == 3:
            if s.shape[0] != 1:
                raise ValueError(f"{name} must have shape (1, B, H) = (1, {B}, {self.hidden_size}) or (B, H) for "
                                 f"this one-layer, one-direction layer, got {tuple(s.shape)}")
            s = s[0]
        self._check(s, name, B)
        return s

    def _cells(self, device: torch.device) -> Cells:
        """The pointwise cells of the hand-written rungs: eager, compiled or Triton."""
        if self.impl == "fused":
            return fused_cells(device)
        return triton_cells(device) if self.impl == "triton" else EAGER

    def _output(self, Y: Tensor) -> Tensor:
        return Y.transpose(0, 1) if self.batch_first else Y

    def _graphed(self, fn: Callable[..., Any], args: tuple[Tensor, ...]) -> Any:
        """``fn(*args)`` replayed from CUDA graphs captured on the first call with this signature.

        The graphs write into static buffers, so outputs are cloned (a later call would overwrite
        them), and so are the gradients handed to autograd (they would alias the graph's buffers).
        """
        key = (torch.is_grad_enabled(),) + tuple((a.shape, a.dtype, a.device, a.requires_grad) for a in args)
        if key not in self._graphs:
            samples = tuple(a.detach().clone().requires_grad_(a.requires_grad) for a in args)
            self._graphs[key] = torch.cuda.make_graphed_callables(fn, samples)
        outputs = self._graphs[key](*(_CloneGrad.apply(a) if a.requires_grad else a for a in args))
        return tuple(o.clone() for o in outputs)

    def extra_repr(self) -> str:
        """The sizes and options that ``repr(layer)`` shows."""
        return (f"input_size={self.input_size}, hidden_size={self.hidden_size}, impl={self.impl!r}, "
                f"batch_first={self.batch_first}")


class _CloneGrad(torch.autograd.Function):
    """Identity forward; the backward hands on a copy of the gradient (not a graph's static buffer)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return grad.clone()


class LadderLSTM(LadderLayer):
    """A single-layer LSTM with ``torch.nn.LSTM``'s parameters, computed by the rung ``impl``.

    Parameters
    ----------
    input_size, hidden_size : int
        D and H.
    impl : str, default "premul"
        One of :data:`RUNGS`.
    batch_first : bool, default False
        Inputs and outputs ``(B, T, ·)`` instead of ``(T, B, ·)``.
    device, dtype :
        Where and in what precision the parameters are created.

    Raises
    ------
    TypeError, ValueError
        If a size is not a positive int, ``impl`` is not one of :data:`RUNGS` (the message lists
        them), ``batch_first`` is not a bool, or ``dtype`` is not a floating torch dtype.

    Examples
    --------
    >>> ref = torch.nn.LSTM(3, 5)
    >>> lstm = LadderLSTM(3, 5, impl="handwritten")
    >>> _ = lstm.load_state_dict(ref.state_dict())
    >>> Y, (h_T, c_T) = lstm(torch.zeros(7, 2, 3))
    >>> tuple(Y.shape), tuple(h_T.shape)
    ((7, 2, 5), (1, 2, 5))
    """

    gate_count = 4

    def forward(self, X: Tensor, state0: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Run the LSTM over a sequence with the rung ``self.impl``.

        Parameters
        ----------
        X : Tensor, shape (T, B, D), or (B, T, D) if ``batch_first``
        state0 : pair of Tensor (h0, c0), each of shape (1, B, H) (``torch.nn.LSTM``'s) or (B, H), optional
            Zeros if omitted.

        Returns
        -------
        Y : Tensor, shape (T, B, H), or (B, T, H) if ``batch_first``
        (h_T, c_T) : pair of Tensor, each of shape (1, B, H), as ``torch.nn.LSTM`` and ``rnnbook.torch.LSTM``

        Raises
        ------
        TypeError, ValueError
            If ``X`` or ``state0`` has the wrong type, shape, dtype or device, or ``impl`` is
            ``"graphed"`` and ``X`` is not on a CUDA device.
        """
        X, T, B = self._inputs(X)
        h0, c0 = (None, None) if state0 is None else check_state_pair(state0, "state0")
        h0, c0 = self._state(h0, B, X, "h0"), self._state(c0, B, X, "c0")
        params = self._params()
        if self.impl == "naive":
            Y, h, c = _lstm_naive(X, h0, c0, *params)
        elif self.impl == "premul":
            Y, h, c = _lstm_premul(X, h0, c0, *params)
        elif self.impl == "graphed":
            Y, h, c = self._graphed(lambda *a: LSTMFunction.apply(*a, EAGER), (X, h0, c0, *params))
        else:  # handwritten, fused, triton
            Y, h, c = LSTMFunction.apply(X, h0, c0, *params, self._cells(X.device))
        return self._output(Y), (h[None], c[None])


class LadderGRU(LadderLayer):
    """A single-layer GRU with ``torch.nn.GRU``'s parameters and form, computed by the rung ``impl``.

    Parameters and errors as :class:`LadderLSTM`; the gate blocks are r, z, n.

    Examples
    --------
    >>> gru = LadderGRU(3, 5, impl="naive")
    >>> _ = gru.load_state_dict(torch.nn.GRU(3, 5).state_dict())
    >>> Y, h_T = gru(torch.zeros(7, 2, 3))
    >>> tuple(Y.shape), tuple(h_T.shape)
    ((7, 2, 5), (1, 2, 5))
    """

    gate_count = 3

    def forward(self, X: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Run the GRU over a sequence with the rung ``self.impl``.

        Parameters
        ----------
        X : Tensor, shape (T, B, D), or (B, T, D) if ``batch_first``
        h0 : Tensor, shape (1, B, H) (``torch.nn.GRU``'s) or (B, H), optional
            Zeros if omitted.

        Returns
        -------
        Y : Tensor, shape (T, B, H), or (B, T, H) if ``batch_first``
        h_T : Tensor, shape (1, B, H), as ``torch.nn.GRU`` and ``rnnbook.torch.GRU``

        Raises
        ------
        TypeError, ValueError
            As :meth:`LadderLSTM.forward`.
        """
        X, T, B = self._inputs(X)
        h0 = self._state(h0, B, X, "h0")
        params = self._params()
        if self.impl == "naive":
            Y, h = _gru_naive(X, h0, *params)
        elif self.impl == "premul":
            Y, h = _gru_premul(X, h0, *params)
        elif self.impl == "graphed":
            Y, h = self._graphed(lambda *a: GRUFunction.apply(*a, EAGER), (X, h0, *params))
        else:  # handwritten, fused, triton
            Y, h = GRUFunction.apply(X, h0, *params, self._cells(X.device))
        return self._output(Y), h[None]


# --- rungs 1 and 2: loops under autograd ------------------------------------------------------------


def _lstm_naive(X: Tensor, h: Tensor, c: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor, b_hh: Tensor
                ) -> tuple[Tensor, Tensor, Tensor]:
    hs = []
    for x_t in X.unbind(0):
        a = x_t @ W_ih.T + b_ih + h @ W_hh.T + b_hh  # two products per step    (B, 4H)
        _, c, h = lstm_pointwise(a, c)
        hs.append(h)
    return torch.stack(hs), h, c


def _lstm_premul(X: Tensor, h: Tensor, c: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor, b_hh: Tensor
                 ) -> tuple[Tensor, Tensor, Tensor]:
    T, B, D = X.shape
    A = torch.addmm(b_ih + b_hh, X.view(T * B, D), W_ih.T).view(T, B, -1)  # all steps at once   (T, B, 4H)
    W_hh_T, hs = W_hh.T, []
    for A_t in A.unbind(0):
        _, c, h = lstm_pointwise(torch.addmm(A_t, h, W_hh_T), c)  # one product per step
        hs.append(h)
    return torch.stack(hs), h, c


def _gru_naive(X: Tensor, h: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor, b_hh: Tensor
               ) -> tuple[Tensor, Tensor]:
    hs = []
    for x_t in X.unbind(0):
        _, _, h = gru_pointwise(x_t @ W_ih.T + b_ih, h @ W_hh.T + b_hh, h)  # two products per step
        hs.append(h)
    return torch.stack(hs), h


def _gru_premul(X: Tensor, h: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor, b_hh: Tensor
                ) -> tuple[Tensor, Tensor]:
    T, B, D = X.shape
    GI = torch.addmm(b_ih, X.view(T * B, D), W_ih.T).view(T, B, -1)  # all steps at once   (T, B, 3H)
    W_hh_T, hs = W_hh.T, []
    for GI_t in GI.unbind(0):
        _, _, h = gru_pointwise(GI_t, torch.addmm(b_hh, h, W_hh_T), h)  # one product per step
        hs.append(h)
    return torch.stack(hs), h
