"""The pointwise cells of :mod:`rnnbook.torch.kernels` as hand-written Triton kernels (rung ``"triton"``).

Each kernel is one launch per step that reads a step's pre-activations once and writes what the
next step and the backward need: the same maths as :func:`~rnnbook.torch.kernels.lstm_cell`,
:func:`~rnnbook.torch.kernels.lstm_cell_backward`, :func:`~rnnbook.torch.kernels.gru_cell` and
:func:`~rnnbook.torch.kernels.gru_cell_backward`, one program per ``BLOCK`` of the B*H units. The
hyperbolic tangent is written :math:`\\tanh(x) = 2\\sigma(2x) - 1`.

Triton runs them on a GPU. On the CPU it runs them only in its interpreter (the environment
variable ``TRITON_INTERPRET=1``, set before the first use), which executes each program with NumPy:
right, and very slow, a way to test the kernels without a GPU. Triton is not a dependency of
rnnbook: ``import triton`` happens on the first use, and :func:`triton_cells` says what is missing.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from typing import Any

import torch
from torch import Tensor

from rnnbook.torch.kernels import Cells

BLOCK = 256  #: units (of the B*H of a step) per Triton program


def triton_problem(device: torch.device) -> str | None:
    """Why the Triton cells cannot run on ``device`` here, or None if they can."""
    if importlib.util.find_spec("triton") is None:
        return "Triton is not installed (pip install triton; CUDA builds of torch include it)"
    if device.type != "cuda" and os.environ.get("TRITON_INTERPRET") != "1":
        return (f"Triton kernels need a CUDA device, or TRITON_INTERPRET=1 in the environment to run "
                f"on {device.type} tensors in Triton's (slow) interpreter")
    return None


def triton_cells(device: torch.device) -> Cells:
    """The four cells as Triton kernels, for tensors on ``device``.

    Raises
    ------
    RuntimeError
        If :func:`triton_problem` finds a reason they cannot run (the message gives it).
    """
    problem = triton_problem(device)
    if problem is not None:
        raise RuntimeError(f"impl='triton' cannot run here: {problem}")
    k = _kernels(os.environ.get("TRITON_INTERPRET") == "1")
    return Cells("triton", k["lstm"], k["lstm_backward"], k["gru"], k["gru_backward"])


@functools.cache
def _kernels(interpret: bool) -> dict[str, Any]:
    """Define the kernels (Triton reads TRITON_INTERPRET when it decorates them) and their launchers."""
    import triton  # type: ignore[import-not-found, import-untyped, unused-ignore]
    import triton.language as tl  # type: ignore[import-not-found, import-untyped, unused-ignore]

    @triton.jit
    def lstm_fwd(a, c_prev, gates, c_out, h_out, n, H, C: tl.constexpr, BLOCK: tl.constexpr):
        k = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)  # unit k = (row b, column j) of (B, H)
        m = k < n
        ga = (k // H) * 4 * H + k % H  # its i entry in a (B, 4H) row
        i = tl.sigmoid(tl.load(a + ga, mask=m).to(C))  # i_t = sigma(a_i)
        f = tl.sigmoid(tl.load(a + ga + H, mask=m).to(C))  # f_t = sigma(a_f)
        g = 2 * tl.sigmoid(2 * tl.load(a + ga + 2 * H, mask=m).to(C)) - 1  # g_t = tanh(a_g)
        o = tl.sigmoid(tl.load(a + ga + 3 * H, mask=m).to(C))  # o_t = sigma(a_o)
        c = f * tl.load(c_prev + k, mask=m).to(C) + i * g  # c_t = f_t * c_{t-1} + i_t * g_t
        tl.store(gates + ga, i, mask=m)
        tl.store(gates + ga + H, f, mask=m)
        tl.store(gates + ga + 2 * H, g, mask=m)
        tl.store(gates + ga + 3 * H, o, mask=m)
        tl.store(c_out + k, c, mask=m)
        tl.store(h_out + k, o * (2 * tl.sigmoid(2 * c) - 1), mask=m)  # h_t = o_t * tanh(c_t)

    @triton.jit
    def lstm_bwd(dY, dh_next, dc_next, gates, c, c_prev, da, dc_prev, n, H,
                 C: tl.constexpr, BLOCK: tl.constexpr):
        k = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        m = k < n
        ga = (k // H) * 4 * H + k % H
        i = tl.load(gates + ga, mask=m).to(C)
        f = tl.load(gates + ga + H, mask=m).to(C)
        g = tl.load(gates + ga + 2 * H, mask=m).to(C)
        o = tl.load(gates + ga + 3 * H, mask=m).to(C)
        dh = tl.load(dY + k, mask=m).to(C) + tl.load(dh_next + k, mask=m).to(C)  # dL/dh_t
        tanh_c = 2 * tl.sigmoid(2 * tl.load(c + k, mask=m).to(C)) - 1  # tanh(c_t), recomputed
        dc = tl.load(dc_next + k, mask=m).to(C) + dh * o * (1 - tanh_c) * (1 + tanh_c)  # dL/dc_t
        tl.store(da + ga, dc * g * i * (1 - i), mask=m)
        tl.store(da + ga + H, dc * tl.load(c_prev + k, mask=m).to(C) * f * (1 - f), mask=m)
        tl.store(da + ga + 2 * H, dc * i * (1 - g) * (1 + g), mask=m)
        tl.store(da + ga + 3 * H, dh * tanh_c * o * (1 - o), mask=m)
        tl.store(dc_prev + k, dc * f, mask=m)  # dL/dc_{t-1} = dL/dc_t * f_t

    @triton.jit
    def gru_fwd(gi, gh, h_prev, gates, hn_out, h_out, n, H, C: tl.constexpr, BLOCK: tl.constexpr):
        k = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        m = k < n
        ga = (k // H) * 3 * H + k % H  # its r entry in a (B, 3H) row
        r = tl.sigmoid(tl.load(gi + ga, mask=m).to(C) + tl.load(gh + ga, mask=m).to(C))  # r_t
        z = tl.sigmoid(tl.load(gi + ga + H, mask=m).to(C) + tl.load(gh + ga + H, mask=m).to(C))  # z_t
        hn = tl.load(gh + ga + 2 * H, mask=m).to(C)  # W_hn h_{t-1} + b_hn
        nt = 2 * tl.sigmoid(2 * (tl.load(gi + ga + 2 * H, mask=m).to(C) + r * hn)) - 1  # n_t
        tl.store(gates + ga, r, mask=m)
        tl.store(gates + ga + H, z, mask=m)
        tl.store(gates + ga + 2 * H, nt, mask=m)
        tl.store(hn_out + k, hn, mask=m)
        tl.store(h_out + k, (1 - z) * nt + z * tl.load(h_prev + k, mask=m).to(C), mask=m)  # h_t

    @triton.jit
    def gru_bwd(dY, dh_next, gates, hn, h_prev, dgi, dgh, dh_direct, n, H,
                C: tl.constexpr, BLOCK: tl.constexpr):
        k = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        m = k < n
        ga = (k // H) * 3 * H + k % H
        r = tl.load(gates + ga, mask=m).to(C)
        z = tl.load(gates + ga + H, mask=m).to(C)
        nt = tl.load(gates + ga + 2 * H, mask=m).to(C)
        dh = tl.load(dY + k, mask=m).to(C) + tl.load(dh_next + k, mask=m).to(C)  # dL/dh_t
        da_n = dh * (1 - z) * (1 - nt) * (1 + nt)  # delta^n_t
        da_z = dh * (tl.load(h_prev + k, mask=m).to(C) - nt) * z * (1 - z)  # delta^z_t
        da_r = da_n * tl.load(hn + k, mask=m).to(C) * r * (1 - r)  # delta^r_t
        tl.store(dgi + ga, da_r, mask=m)
        tl.store(dgi + ga + H, da_z, mask=m)
        tl.store(dgi + ga + 2 * H, da_n, mask=m)
        tl.store(dgh + ga, da_r, mask=m)
        tl.store(dgh + ga + H, da_z, mask=m)
        tl.store(dgh + ga + 2 * H, da_n * r, mask=m)
        tl.store(dh_direct + k, dh * z, mask=m)  # dL/dh_{t-1}, direct path

    def launch(kernel: Any, *tensors: Tensor, outputs: tuple[tuple[int, ...], ...], like: Tensor) -> tuple[Tensor, ...]:
        B, H = like.shape
        outs = tuple(like.new_empty(shape) for shape in outputs)
        grid = (triton.cdiv(B * H, BLOCK),)
        C = tl.float64 if like.dtype == torch.float64 else tl.float32  # 16-bit storage, 32-bit maths
        kernel[grid](*(t.contiguous() for t in tensors), *outs, B * H, H, C=C, BLOCK=BLOCK)
        return outs

    def lstm(a: Tensor, c_prev: Tensor) -> tuple[Tensor, ...]:
        B, H = c_prev.shape
        return launch(lstm_fwd, a, c_prev, outputs=((B, 4 * H), (B, H), (B, H)), like=c_prev)

    def lstm_backward(dY_t: Tensor, dh_next: Tensor, dc_next: Tensor, gates: Tensor, c: Tensor,
                      c_prev: Tensor) -> tuple[Tensor, ...]:
        B, H = c.shape
        return launch(lstm_bwd, dY_t, dh_next, dc_next, gates, c, c_prev, outputs=((B, 4 * H), (B, H)), like=c)

    def gru(gi: Tensor, gh: Tensor, h_prev: Tensor) -> tuple[Tensor, ...]:
        B, H = h_prev.shape
        return launch(gru_fwd, gi, gh, h_prev, outputs=((B, 3 * H), (B, H), (B, H)), like=h_prev)

    def gru_backward(dY_t: Tensor, dh_next: Tensor, gates: Tensor, hn: Tensor, h_prev: Tensor) -> tuple[Tensor, ...]:
        B, H = h_prev.shape
        return launch(gru_bwd, dY_t, dh_next, gates, hn, h_prev, outputs=((B, 3 * H), (B, 3 * H), (B, H)),
                      like=h_prev)

    return {"lstm": lstm, "lstm_backward": lstm_backward, "gru": gru, "gru_backward": gru_backward}
