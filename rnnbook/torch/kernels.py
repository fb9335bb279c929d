"""The pointwise cells of the LSTM and GRU, and a hand-written backward pass through time (rungs 3 and 4).

A step of either layer is one matrix product, ``h_{t-1} @ W_hh.T``, and then pointwise maths on
(B, G*H) numbers: the gates, the new states. The functions here are that pointwise part, forward
and backward, as pure functions of tensors (no module, no state), so that ``torch.compile`` can fuse
each into one kernel (rung ``"fused"``) and the same code runs eagerly, op by op (rung
``"handwritten"``).

:class:`LSTMFunction` and :class:`GRUFunction` are ``torch.autograd.Function`` s whose backward is
the derivation of chapters 3 and 4 (``rnnbook.numpy.lstm_step_backward``, ``gru_step_backward``)
written in torch, with one change: a step's backward only computes the gradient of its
pre-activations :math:`\\delta_t`; the weight gradients, a sum over time of :math:`\\delta_t
x_t^\\top` and :math:`\\delta_t h_{t-1}^\\top`, are one matrix product each over all T*B rows after
the loop, and so is :math:`\\partial L / \\partial X`. The forward saves only the activated gates
and the cell states (the LSTM) or the gates and :math:`W_{hn} h_{t-1} + b_{hn}` (the GRU), besides
the inputs and outputs; :math:`\\tanh(c_t)` is recomputed in the backward.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

# --- the pointwise cells -------------------------------------------------------------------------


def lstm_pointwise(a: Tensor, c_prev: Tensor) -> tuple[tuple[Tensor, Tensor, Tensor, Tensor], Tensor, Tensor]:
    """The pointwise part of an LSTM step, eqs. ``lstm-i`` to ``lstm-h`` of chapter 3.

    Parameters
    ----------
    a : Tensor, shape (B, 4H)
        The pre-activations :math:`W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}`, blocks i, f, g, o.
    c_prev : Tensor, shape (B, H)
        :math:`c_{t-1}`.

    Returns
    -------
    (i, f, g, o) : four Tensors of shape (B, H)
        The activated gates.
    c, h : Tensor, shape (B, H)
        :math:`c_t` and :math:`h_t`.
    """
    a_i, a_f, a_g, a_o = a.chunk(4, dim=1)
    i = torch.sigmoid(a_i)   # i_t = sigma(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
    f = torch.sigmoid(a_f)   # f_t = sigma(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
    g = torch.tanh(a_g)      # g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
    o = torch.sigmoid(a_o)   # o_t = sigma(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
    c = f * c_prev + i * g   # c_t = f_t * c_{t-1} + i_t * g_t
    h = o * torch.tanh(c)    # h_t = o_t * tanh(c_t)
    return (i, f, g, o), c, h


def lstm_cell(a: Tensor, c_prev: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`lstm_pointwise` with the four gates in one (B, 4H) tensor: what the backward saves."""
    gates, c, h = lstm_pointwise(a, c_prev)
    return torch.cat(gates, dim=1), c, h


def lstm_cell_backward(dY_t: Tensor, dh_next: Tensor, dc_next: Tensor, gates: Tensor, c: Tensor,
                       c_prev: Tensor) -> tuple[Tensor, Tensor]:
    """The chain rule through :func:`lstm_cell` (chapter 3, as ``rnnbook.numpy.lstm_step_backward``).

    Parameters
    ----------
    dY_t, dh_next : Tensor, shape (B, H)
        :math:`\\partial L / \\partial h_t` from output t and from step t+1.
    dc_next : Tensor, shape (B, H)
        :math:`\\partial L / \\partial c_t` from step t+1.
    gates : Tensor, shape (B, 4H)
        The activated gates i, f, g, o of step t.
    c, c_prev : Tensor, shape (B, H)
        :math:`c_t` and :math:`c_{t-1}`.

    Returns
    -------
    da : Tensor, shape (B, 4H)
        :math:`\\delta_t`, the gradient of the pre-activations.
    dc_prev : Tensor, shape (B, H)
        :math:`\\partial L / \\partial c_{t-1}` (the path through :math:`h_{t-1}` is ``da @ W_hh``).
    """
    i, f, g, o = gates.chunk(4, dim=1)
    dh = dY_t + dh_next                                # dL/dh_t = (from output t) + (from step t+1)
    tanh_c = torch.tanh(c)                             # recomputed, not saved
    do = dh * tanh_c                                   # dL/do_t = dL/dh_t * tanh(c_t)
    dc = dc_next + dh * o * (1 - tanh_c) * (1 + tanh_c)  # dL/dc_t = (from c_{t+1}) + dL/dh_t * o_t * tanh'(c_t)
    da = torch.cat([
        dc * g * i * (1 - i),                          # dL/di_t = dL/dc_t * g_t, through sigma'
        dc * c_prev * f * (1 - f),                     # dL/df_t = dL/dc_t * c_{t-1}, through sigma'
        dc * i * (1 - g) * (1 + g),                    # dL/dg_t = dL/dc_t * i_t, through tanh'
        do * o * (1 - o),                              # through sigma'
    ], dim=1)                                          # delta_t   (B, 4H)
    return da, dc * f                                  # dL/dc_{t-1} = dL/dc_t * f_t   (the carousel)


def gru_pointwise(gi: Tensor, gh: Tensor, h_prev: Tensor) -> tuple[tuple[Tensor, Tensor, Tensor], Tensor, Tensor]:
    """The pointwise part of a GRU step in ``torch.nn.GRU``'s form (chapter 4, ``gru-candidate-after``).

    Parameters
    ----------
    gi : Tensor, shape (B, 3H)
        :math:`W_{i*} x_t + b_{i*}`, blocks r, z, n.
    gh : Tensor, shape (B, 3H)
        :math:`W_{h*} h_{t-1} + b_{h*}`, blocks r, z, n.
    h_prev : Tensor, shape (B, H)
        :math:`h_{t-1}`.

    Returns
    -------
    (r, z, n) : three Tensors of shape (B, H)
        The gates and the candidate.
    hn : Tensor, shape (B, H)
        :math:`W_{hn} h_{t-1} + b_{hn}` (what the backward of the reset gate needs).
    h : Tensor, shape (B, H)
        :math:`h_t`.
    """
    gi_r, gi_z, gi_n = gi.chunk(3, dim=1)
    gh_r, gh_z, hn = gh.chunk(3, dim=1)
    r = torch.sigmoid(gi_r + gh_r)      # r_t = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z = torch.sigmoid(gi_z + gh_z)      # z_t = sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n = torch.tanh(gi_n + r * hn)       # n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
    h = (1 - z) * n + z * h_prev        # h_t = (1 - z_t) * n_t + z_t * h_{t-1}
    return (r, z, n), hn, h


def gru_cell(gi: Tensor, gh: Tensor, h_prev: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`gru_pointwise` with r, z, n in one (B, 3H) tensor: what the backward saves."""
    gates, hn, h = gru_pointwise(gi, gh, h_prev)
    return torch.cat(gates, dim=1), hn, h


def gru_cell_backward(dY_t: Tensor, dh_next: Tensor, gates: Tensor, hn: Tensor, h_prev: Tensor
                      ) -> tuple[Tensor, Tensor, Tensor]:
    """The chain rule through :func:`gru_cell` (chapter 4, as ``rnnbook.numpy.gru_step_backward``).

    Returns
    -------
    dgi : Tensor, shape (B, 3H)
        :math:`\\partial L / \\partial (W_{i*} x_t + b_{i*})`.
    dgh : Tensor, shape (B, 3H)
        :math:`\\partial L / \\partial (W_{h*} h_{t-1} + b_{h*})`.
    dh_direct : Tensor, shape (B, H)
        :math:`\\partial L / \\partial h_{t-1}` through the direct path :math:`z_t h_{t-1}` (the
        rest is ``dgh @ W_hh``).
    """
    r, z, n = gates.chunk(3, dim=1)
    dh = dY_t + dh_next                 # dL/dh_t = (from output t) + (from step t+1)
    da_n = dh * (1 - z) * (1 - n) * (1 + n)  # delta^n_t = dL/dh_t * (1 - z_t) * (1 - n_t^2)
    da_z = dh * (h_prev - n) * z * (1 - z)   # delta^z_t = dL/dh_t * (h_{t-1} - n_t) * z_t (1 - z_t)
    da_r = da_n * hn * r * (1 - r)           # delta^r_t = delta^n_t * (W_hn h_{t-1} + b_hn) * r_t (1 - r_t)
    dgi = torch.cat([da_r, da_z, da_n], dim=1)
    dgh = torch.cat([da_r, da_z, da_n * r], dim=1)
    return dgi, dgh, dh * z             # dL/dh_{t-1}, direct path = dL/dh_t * z_t


# --- which cells run: eager, or compiled into one kernel each -------------------------------------


@dataclass(frozen=True)
class Cells:
    """The four pointwise functions a hand-written pass runs, and how they were made.

    ``how`` is ``"eager"`` (op by op) or ``"compiled"`` (``torch.compile``: one kernel each).
    """

    how: str
    lstm: Callable[..., Any]
    lstm_backward: Callable[..., Any]
    gru: Callable[..., Any]
    gru_backward: Callable[..., Any]


#: The cells run op by op (rung ``"handwritten"``).
EAGER = Cells("eager", lstm_cell, lstm_cell_backward, gru_cell, gru_cell_backward)


@functools.cache
def compile_problem(device_type: str) -> str | None:
    """Why ``torch.compile`` cannot fuse the cells on ``device_type`` here, or None if it can.

    Compiles and runs a one-line pointwise function once per device type and process (inductor
    needs a C++ compiler on the CPU and Triton on a GPU); a failure is returned as its first line.
    """
    try:
        probe = torch.compile(lambda x: torch.sigmoid(x) * x, fullgraph=True, dynamic=False)
        x = torch.ones(2, 3, device=device_type)
        if not torch.allclose(probe(x), torch.sigmoid(x) * x):
            return "torch.compile gave a wrong result on a probe"
    except Exception as err:  # noqa: BLE001 (any failure of the compiler stack means: not here)
        first = (str(err).strip().splitlines() or [""])[0][:200]
        return f"torch.compile failed on a probe ({type(err).__name__}: {first})"
    return None


@functools.cache
def _compiled() -> Cells:
    compile = functools.partial(torch.compile, fullgraph=True, dynamic=False)
    return Cells("compiled", compile(lstm_cell), compile(lstm_cell_backward), compile(gru_cell),
                 compile(gru_cell_backward))


def fused_cells(device: torch.device) -> Cells:
    """The compiled cells, or :data:`EAGER` with a ``RuntimeWarning`` saying why if
    :func:`compile_problem` finds that ``torch.compile`` does not work on ``device`` here."""
    problem = compile_problem(device.type)
    if problem is not None:
        warnings.warn(f"impl='fused' falls back to the eager cells of impl='handwritten' on {device.type}: "
                      f"{problem}", RuntimeWarning, stacklevel=3)
        return EAGER
    return _compiled()


# --- the hand-written backward through time --------------------------------------------------------


def _rows(x: Tensor) -> Tensor:
    """(T, B, K) as (T*B, K): every step's rows in one matrix."""
    return x.reshape(-1, x.shape[-1])


class LSTMFunction(torch.autograd.Function):
    """An LSTM layer over a sequence, with the backward of chapter 3 written by hand.

    ``LSTMFunction.apply(X, h0, c0, W_ih, W_hh, b_ih, b_hh, cells)`` returns ``(Y, h_T, c_T)``:
    X (T, B, D), states (B, H), parameters as ``torch.nn.LSTM``'s layer 0, ``cells`` a :class:`Cells`.
    """

    @staticmethod
    def forward(ctx: Any, X: Tensor, h0: Tensor, c0: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor,
                b_hh: Tensor, cells: Cells) -> tuple[Tensor, Tensor, Tensor]:
        """The loop of rung ``premul``, saving the gates and cell states for :meth:`backward`."""
        T, B, _ = X.shape
        A = torch.addmm(b_ih + b_hh, _rows(X), W_ih.T).view(T, B, -1)  # W_ih x_t + b_ih + b_hh, all t   (T, B, 4H)
        W_hh_T = W_hh.T
        h, c = h0, c0
        gates, cs, hs = [], [], []
        for A_t in A.unbind(0):
            g_t, c, h = cells.lstm(torch.addmm(A_t, h, W_hh_T), c)  # a_t = A_t + W_hh h_{t-1}
            gates.append(g_t)
            cs.append(c)
            hs.append(h)
        G, C, Y = torch.stack(gates), torch.stack(cs), torch.stack(hs)  # (T, B, 4H), (T, B, H), (T, B, H)
        ctx.save_for_backward(X, h0, c0, W_ih, W_hh, G, C, Y)
        ctx.cells = cells
        return Y, h.clone(), c.clone()  # clones: h and c are also rows of the saved Y and C

    @staticmethod
    @torch.autograd.function.once_differentiable  # a second derivative would need autograd of this backward
    def backward(ctx: Any, dY: Tensor, dh_T: Tensor, dc_T: Tensor) -> tuple[Tensor | None, ...]:
        """Backpropagation through time, step by step for the deltas, then the weights at once."""
        X, h0, c0, W_ih, W_hh, G, C, Y = ctx.saved_tensors
        cells: Cells = ctx.cells
        T = X.shape[0]
        dh, dc = dh_T, dc_T
        deltas = []
        for t in reversed(range(T)):
            da, dc = cells.lstm_backward(dY[t], dh, dc, G[t], C[t], C[t - 1] if t > 0 else c0)
            dh = da @ W_hh                     # dL/dh_{t-1} = W_hh^T delta_t
            deltas.append(da)
        dA = torch.stack(deltas[::-1])         # delta_t for every t   (T, B, 4H)
        H_prev = torch.cat([h0[None], Y[:-1]])  # h_{t-1} for every t   (T, B, H)
        dX = (_rows(dA) @ W_ih).view_as(X) if ctx.needs_input_grad[0] else None  # W_ih^T delta_t, all t at once
        dW_ih = _rows(dA).T @ _rows(X)         # sum_t delta_t x_t^T: one product over T*B rows
        dW_hh = _rows(dA).T @ _rows(H_prev)    # sum_t delta_t h_{t-1}^T
        db = dA.sum(dim=(0, 1))                # sum_t delta_t, for b_ih and b_hh alike
        return dX, dh, dc, dW_ih, dW_hh, db, db.clone(), None


class GRUFunction(torch.autograd.Function):
    """A GRU layer (``torch.nn.GRU``'s form) over a sequence, with the backward of chapter 4 by hand.

    ``GRUFunction.apply(X, h0, W_ih, W_hh, b_ih, b_hh, cells)`` returns ``(Y, h_T)``.
    """

    @staticmethod
    def forward(ctx: Any, X: Tensor, h0: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor, b_hh: Tensor,
                cells: Cells) -> tuple[Tensor, Tensor]:
        """The loop of rung ``premul``, saving the gates and :math:`W_{hn} h_{t-1} + b_{hn}` for :meth:`backward`."""
        T, B, _ = X.shape
        GI = torch.addmm(b_ih, _rows(X), W_ih.T).view(T, B, -1)  # W_i* x_t + b_i*, all t   (T, B, 3H)
        W_hh_T = W_hh.T
        h = h0
        gates, hns, hs = [], [], []
        for GI_t in GI.unbind(0):
            g_t, hn, h = cells.gru(GI_t, torch.addmm(b_hh, h, W_hh_T), h)  # gh = W_h* h_{t-1} + b_h*
            gates.append(g_t)
            hns.append(hn)
            hs.append(h)
        G, HN, Y = torch.stack(gates), torch.stack(hns), torch.stack(hs)  # (T, B, 3H), (T, B, H), (T, B, H)
        ctx.save_for_backward(X, h0, W_ih, W_hh, G, HN, Y)
        ctx.cells = cells
        return Y, h.clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, dY: Tensor, dh_T: Tensor) -> tuple[Tensor | None, ...]:
        """Backpropagation through time, step by step for the deltas, then the weights at once."""
        X, h0, W_ih, W_hh, G, HN, Y = ctx.saved_tensors
        cells: Cells = ctx.cells
        T = X.shape[0]
        dh = dh_T
        dgis, dghs = [], []
        for t in reversed(range(T)):
            dgi, dgh, dh_direct = cells.gru_backward(dY[t], dh, G[t], HN[t], Y[t - 1] if t > 0 else h0)
            dh = torch.addmm(dh_direct, dgh, W_hh)  # dL/dh_{t-1} = z_t * dL/dh_t + W_hh^T dgh
            dgis.append(dgi)
            dghs.append(dgh)
        dGI, dGH = torch.stack(dgis[::-1]), torch.stack(dghs[::-1])  # (T, B, 3H) each
        H_prev = torch.cat([h0[None], Y[:-1]])  # h_{t-1} for every t   (T, B, H)
        dX = (_rows(dGI) @ W_ih).view_as(X) if ctx.needs_input_grad[0] else None  # W_ih^T dgi_t, all t at once
        dW_ih = _rows(dGI).T @ _rows(X)         # sum_t dgi_t x_t^T
        dW_hh = _rows(dGH).T @ _rows(H_prev)    # sum_t dgh_t h_{t-1}^T
        return dX, dh, dW_ih, dW_hh, dGI.sum(dim=(0, 1)), dGH.sum(dim=(0, 1)), None
