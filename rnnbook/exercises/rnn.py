"""Checkers for the vanilla RNN's exercises: one step forward (chapter 1), one step backward and
backpropagation through a whole sequence (chapter 2).

Each wrong variant below is the reference with one common mistake in it; the checker names the
mistake whose variant computes exactly what the reader's function computed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from rnnbook.exercises.core import Exercise, Mistake, Outputs, Verdict, run_check
from rnnbook.numpy.activations import sigmoid
from rnnbook.numpy.rnn import rnn_step_backward, rnn_step_forward


def random_params(rng: np.random.Generator, D: int, H: int, gates: int = 1) -> dict[str, np.ndarray]:
    """Weights and biases of a layer with ``gates`` blocks, laid out like ``torch.nn`` (float64)."""
    return {"weight_ih": rng.normal(0.0, 0.6, (gates * H, D)), "weight_hh": rng.normal(0.0, 0.6, (gates * H, H)),
            "bias_ih": rng.normal(0.0, 0.3, gates * H), "bias_hh": rng.normal(0.0, 0.3, gates * H)}


# --- chapter 1: one step forward -------------------------------------------------------------

def _forward_case(rng: np.random.Generator, B: int, D: int, H: int, T: int) -> tuple[Any, ...]:
    return rng.normal(size=(B, D)), rng.normal(size=(B, H)), random_params(rng, D, H)


def _forward_reference(x: np.ndarray, h_prev: np.ndarray, params: dict[str, np.ndarray]) -> Outputs:
    return {"h": rnn_step_forward(x, h_prev, params)[0]}


def _forward_variant(x: np.ndarray, h_prev: np.ndarray, params: dict[str, np.ndarray], *,
                     transpose_ih: bool = True, transpose_hh: bool = True, recurrent: bool = True,
                     b_ih: bool = True, b_hh: bool = True, swap: bool = False,
                     phi: Callable[[np.ndarray], np.ndarray] = np.tanh) -> Outputs:
    W_ih, W_hh = params["weight_ih"], params["weight_hh"]
    if swap:
        W_ih, W_hh = W_hh, W_ih
    a = x @ (W_ih.T if transpose_ih else W_ih)
    if recurrent:
        a = a + h_prev @ (W_hh.T if transpose_hh else W_hh)
    a = a + (params["bias_ih"] if b_ih else 0.0) + (params["bias_hh"] if b_hh else 0.0)
    return {"h": phi(a)}


_TRANSPOSE_FWD = ("W_ih x_t is written x @ W_ih.T for a batch of rows (weight_ih has shape (H, D)), "
                  "and W_hh h_{t-1} is h_prev @ W_hh.T")
FORWARD_MISTAKES = (
    Mistake("missing_transpose", "a missing transpose: " + _TRANSPOSE_FWD + ".",
            partial(_forward_variant, transpose_ih=False, transpose_hh=False)),
    Mistake("missing_transpose", "a missing transpose of W_hh: " + _TRANSPOSE_FWD + ".",
            partial(_forward_variant, transpose_hh=False)),
    Mistake("missing_transpose", "a missing transpose of W_ih: " + _TRANSPOSE_FWD + ".",
            partial(_forward_variant, transpose_ih=False)),
    Mistake("missing_recurrent_term", "the recurrent term W_hh h_{t-1} is missing: without it the layer "
            "has no memory.", partial(_forward_variant, recurrent=False)),
    Mistake("weights_swapped", "weight_ih and weight_hh are swapped: W_ih multiplies the input x_t, "
            "W_hh the state h_{t-1}.", partial(_forward_variant, swap=True)),
    Mistake("missing_bias", "bias_hh is missing: torch.nn keeps two biases, and both are added.",
            partial(_forward_variant, b_hh=False)),
    Mistake("missing_bias", "bias_ih is missing: torch.nn keeps two biases, and both are added.",
            partial(_forward_variant, b_ih=False)),
    Mistake("missing_nonlinearity", "tanh is missing: h_t = tanh(a_t), not a_t.",
            partial(_forward_variant, phi=lambda a: a)),
    Mistake("wrong_nonlinearity", "the nonlinearity is the sigmoid; this layer uses tanh.",
            partial(_forward_variant, phi=sigmoid)),
    Mistake("wrong_nonlinearity", "the nonlinearity is ReLU; this layer uses tanh.",
            partial(_forward_variant, phi=lambda a: np.maximum(a, 0.0))),
)

RNN_STEP_FORWARD = Exercise(
    name="rnn_step_forward", arguments=("x", "h_prev", "params"), returns="h",
    make_case=_forward_case, reference=_forward_reference, layout=("h",), shapes={"h": "(B, H)"},
    mistakes=FORWARD_MISTAKES, seed=1)


def check_rnn_step_forward(fn: Any, verbose: bool = True) -> Verdict:
    """Check the reader's ``fn(x, h_prev, params) -> h``: one tanh RNN step (chapter 1, eq. ``rnn-recurrence``).

    ``x`` is (B, D), ``h_prev`` (B, H), ``params`` has ``weight_ih`` (H, D), ``weight_hh`` (H, H),
    ``bias_ih`` (H,), ``bias_hh`` (H,). ``fn`` may also return ``(h, cache)`` like
    :func:`rnnbook.numpy.rnn_step_forward`.

    Parameters
    ----------
    fn : callable
        The function to check.
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    Verdict
        True if ``fn`` agrees with the reference on every case; otherwise it names the output, the
        worst entry, the error and the likely cause.

    Raises
    ------
    TypeError
        If ``fn`` is not callable or cannot be called as ``fn(x, h_prev, params)``.
    """
    return run_check(RNN_STEP_FORWARD, fn, verbose)


# --- chapter 2: one step backward --------------------------------------------------------------

def _backward_case(rng: np.random.Generator, B: int, D: int, H: int, T: int) -> tuple[Any, ...]:
    x, h_prev, params = _forward_case(rng, B, D, H, T)
    _, cache = rnn_step_forward(x, h_prev, params)
    return rng.normal(size=(B, H)), cache, params


def _grads_outputs(dx: np.ndarray, dh_prev: np.ndarray, grads: dict[str, np.ndarray]) -> Outputs:
    return {"dx": dx, "dh_prev": dh_prev, "dW_ih": grads["weight_ih"], "dW_hh": grads["weight_hh"],
            "db_ih": grads["bias_ih"], "db_hh": grads["bias_hh"]}


def _backward_reference(dh: np.ndarray, cache: tuple[np.ndarray, ...], params: dict[str, np.ndarray]) -> Outputs:
    x, h_prev, h = cache
    return _grads_outputs(*rnn_step_backward(dh, (x, h_prev, h), params))


def _backward_variant(dh: np.ndarray, cache: tuple[np.ndarray, ...], params: dict[str, np.ndarray], *,
                      slope: str = "1-h^2", dW_hh_state: str = "h_prev", transpose_dW: str = "",
                      transpose_back: str = "", batch: str = "sum", dh_prev: str = "W_hh") -> Outputs:
    x, h_prev, h = cache
    W_ih, W_hh = params["weight_ih"], params["weight_hh"]
    phi_grad = {"1-h^2": 1.0 - h * h, "none": np.ones_like(h), "1+h^2": 1.0 + h * h,
                "1-tanh(h)^2": 1.0 - np.tanh(h) ** 2, "1-h": 1.0 - h}[slope]
    da = dh * phi_grad
    state = h if dW_hh_state == "h" else h_prev
    dW_ih = x.T @ da if "ih" in transpose_dW else da.T @ x
    dW_hh = state.T @ da if "hh" in transpose_dW else da.T @ state
    db = da.mean(axis=0) if batch == "mean" else da.sum(axis=0)
    if batch == "mean":
        dW_ih, dW_hh = dW_ih / len(x), dW_hh / len(x)
    dx = da @ (W_ih.T if "ih" in transpose_back else W_ih)
    back = {"W_hh": da @ (W_hh.T if "hh" in transpose_back else W_hh), "zero": np.zeros_like(dh), "dh": dh}[dh_prev]
    return {"dx": dx, "dh_prev": back, "dW_ih": dW_ih, "dW_hh": dW_hh, "db_ih": db, "db_hh": db}


_DELTA = "delta_t = dh * (1 - h_t^2), with h_t = tanh(a_t) from the cache"
_TRANSPOSE_BACK = ("in the row layout W^T delta_t is written delta @ W: dx = delta @ W_ih and "
                   "dh_prev = delta @ W_hh, with no .T")
BACKWARD_MISTAKES = (
    Mistake("missing_tanh_derivative", f"the tanh derivative is missing: {_DELTA}.",
            partial(_backward_variant, slope="none")),
    Mistake("sign_error", f"a sign error in the tanh derivative: it is 1 - h^2, not 1 + h^2 ({_DELTA}).",
            partial(_backward_variant, slope="1+h^2")),
    Mistake("tanh_applied_twice", f"tanh applied twice: the cache holds h_t = tanh(a_t) already, so "
            f"tanh'(a_t) = 1 - h_t^2, not 1 - tanh(h_t)^2 ({_DELTA}).", partial(_backward_variant, slope="1-tanh(h)^2")),
    Mistake("wrong_tanh_derivative", f"the tanh derivative is 1 - h_t^2 (squared), not 1 - h_t ({_DELTA}).",
            partial(_backward_variant, slope="1-h")),
    Mistake("uses_h_not_h_prev", "dW_hh uses h_t, the new state, where it needs h_{t-1}: "
            "dW_hh = delta^T @ h_prev (W_hh multiplied h_{t-1} in the forward pass).",
            partial(_backward_variant, dW_hh_state="h")),
    Mistake("missing_transpose", "the weight gradients are transposed: dW_ih = delta^T @ x has W_ih's "
            "shape (H, D), and dW_hh = delta^T @ h_prev.", partial(_backward_variant, transpose_dW="ih hh")),
    Mistake("missing_transpose", "dW_hh is transposed: dW_hh = delta^T @ h_prev (row k is unit k's weights).",
            partial(_backward_variant, transpose_dW="hh")),
    Mistake("missing_transpose", "dW_ih is transposed: dW_ih = delta^T @ x (row k is unit k's weights).",
            partial(_backward_variant, transpose_dW="ih")),
    Mistake("missing_transpose", f"a transpose too many: {_TRANSPOSE_BACK}.",
            partial(_backward_variant, transpose_back="ih hh")),
    Mistake("missing_transpose", f"a transpose too many in dh_prev: {_TRANSPOSE_BACK}.",
            partial(_backward_variant, transpose_back="hh")),
    Mistake("missing_transpose", f"a transpose too many in dx: {_TRANSPOSE_BACK}.",
            partial(_backward_variant, transpose_back="ih")),
    Mistake("missing_recurrent_term", "dh_prev is zero: the gradient reaches h_{t-1} through W_hh, "
            "dh_prev = delta @ W_hh. Without it BPTT stops after one step.", partial(_backward_variant, dh_prev="zero")),
    Mistake("dh_prev_skips_step", "dh_prev = dh passes the gradient through unchanged; it must cross "
            "the step: dh_prev = delta @ W_hh.", partial(_backward_variant, dh_prev="dh")),
    Mistake("averaged_over_batch", "the gradients are averaged over the batch; a step's gradients are "
            "summed over the batch (the loss is a sum), e.g. db = delta.sum(axis=0).",
            partial(_backward_variant, batch="mean")),
)

RNN_STEP_BACKWARD = Exercise(
    name="rnn_step_backward", arguments=("dh", "cache", "params"), returns="(dx, dh_prev, grads)",
    make_case=_backward_case, reference=_backward_reference, layout=("dx", "dh_prev", "grads"),
    shapes={"dx": "(B, D)", "dh_prev": "(B, H)", "dW_ih": "(H, D)", "dW_hh": "(H, H)", "db_ih": "(H,)",
            "db_hh": "(H,)"},
    mistakes=BACKWARD_MISTAKES, seed=2)


def check_rnn_step_backward(fn: Any, verbose: bool = True) -> Verdict:
    """Check the reader's ``fn(dh, cache, params) -> (dx, dh_prev, grads)``: the backward pass of one
    tanh RNN step (chapter 2, eq. ``bptt-delta``).

    ``cache`` is ``(x, h_prev, h)`` as :func:`rnnbook.numpy.rnn_step_forward` returns it; ``grads``
    is a dict with the keys ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``.

    Parameters
    ----------
    fn : callable
        The function to check.
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    Verdict
        As :func:`check_rnn_step_forward`'s.

    Raises
    ------
    TypeError
        If ``fn`` is not callable or cannot be called as ``fn(dh, cache, params)``.
    """
    return run_check(RNN_STEP_BACKWARD, fn, verbose)


# --- chapter 2: backpropagation through a whole sequence ------------------------------------------

def _bptt_case(rng: np.random.Generator, B: int, D: int, H: int, T: int) -> tuple[Any, ...]:
    params = random_params(rng, D, H)
    X, h = rng.normal(size=(T, B, D)), rng.normal(size=(B, H))
    caches = []
    for t in range(T):
        h, cache = rnn_step_forward(X[t], h, params)
        caches.append(cache)
    return rng.normal(size=(T, B, H)), caches, params


def _bptt_variant(dY: np.ndarray, caches: list[Any], params: dict[str, np.ndarray], *,
                  carry: bool = True, outputs: bool = True, accumulate: bool = True,
                  backwards: bool = True) -> Outputs:
    T = len(caches)
    grads = {name: np.zeros_like(p) for name, p in params.items()}
    dX = np.zeros((T, *caches[0][0].shape))
    dh_next = np.zeros_like(dY[0])
    for t in (reversed(range(T)) if backwards else range(T)):
        zero = np.zeros_like(dh_next)
        dh = (dY[t] if outputs or t == T - 1 else zero) + (dh_next if carry else zero)
        dX[t], dh_next, step = rnn_step_backward(dh, caches[t], params)
        for name, g in step.items():
            grads[name] = grads[name] + g if accumulate else g
    return _grads_outputs(dX, dh_next, grads)


def _bptt_reference(dY: np.ndarray, caches: list[tuple[np.ndarray, ...]], params: dict[str, np.ndarray]) -> Outputs:
    out = _bptt_variant(dY, caches, params)
    return {"dX": out.pop("dx"), "dh0": out.pop("dh_prev"), **out}


def _bptt_mistake(**flags: bool) -> Callable[..., Outputs]:
    def compute(dY: np.ndarray, caches: list[tuple[np.ndarray, ...]], params: dict[str, np.ndarray]) -> Outputs:
        out = _bptt_variant(dY, caches, params, **flags)
        return {"dX": out.pop("dx"), "dh0": out.pop("dh_prev"), **out}
    return compute


BPTT_MISTAKES = (
    Mistake("dh_next_not_carried", "the gradient from step t+1 is not carried back: at step t, "
            "dh = dY[t] + dh_next, where dh_next is the dh_prev that step t+1's backward returned.",
            _bptt_mistake(carry=False)),
    Mistake("output_gradient_dropped", "only the last output's gradient enters: at every step, "
            "dh = dY[t] + dh_next (h_t feeds its own output as well as step t+1).", _bptt_mistake(outputs=False)),
    Mistake("not_summed_over_time", "the weight gradients are overwritten at each step; a shared weight's "
            "gradient is the sum of every step's share: grads[name] += step_grads[name].",
            _bptt_mistake(accumulate=False)),
    Mistake("wrong_time_order", "the steps run forwards in time; the backward pass visits them in reverse "
            "(t = T-1 down to 0), since step t needs dh_next from step t+1.", _bptt_mistake(backwards=False)),
)

RNN_BACKWARD = Exercise(
    name="rnn_backward", arguments=("dY", "caches", "params"), returns="(dX, dh0, grads)",
    make_case=_bptt_case, reference=_bptt_reference, layout=("dX", "dh0", "grads"),
    shapes={"dX": "(T, B, D)", "dh0": "(B, H)", "dW_ih": "(H, D)", "dW_hh": "(H, H)", "db_ih": "(H,)",
            "db_hh": "(H,)"},
    mistakes=BPTT_MISTAKES, uses_T=True, seed=3)


def check_rnn_backward(fn: Any, verbose: bool = True) -> Verdict:
    """Check the reader's ``fn(dY, caches, params) -> (dX, dh0, grads)``: backpropagation through
    time over a whole sequence (chapter 2, eqs. ``bptt-dh`` and ``bptt-delta``).

    ``dY`` (T, B, H) holds :math:`\\partial L / \\partial h_t` from each output, ``caches`` the
    list of the T step caches of :func:`rnnbook.numpy.rnn_step_forward`, from :math:`h_0`. ``fn``
    returns ``dX`` (T, B, D), ``dh0`` (B, H) and the parameter gradients summed over time.
    It may call :func:`rnnbook.numpy.rnn_step_backward` for each step.

    Parameters
    ----------
    fn : callable
        The function to check.
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    Verdict
        As :func:`check_rnn_step_forward`'s.

    Raises
    ------
    TypeError
        If ``fn`` is not callable or cannot be called as ``fn(dY, caches, params)``.
    """
    return run_check(RNN_BACKWARD, fn, verbose)
