"""The checker for chapter 3's exercise: one step of the LSTM backward pass.

Each wrong variant is the reference with one common mistake in it; the checker names the mistake
whose variant computes exactly what the reader's function computed.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from rnnbook.exercises.core import Exercise, Mistake, Outputs, Verdict, gate_order_mistakes, run_check
from rnnbook.exercises.rnn import random_params
from rnnbook.numpy.lstm import lstm_step_backward, lstm_step_forward

#: The order of the gate blocks in ``torch.nn.LSTM``'s weights, and in delta.
GATES = "ifgo"  # the order of the gate blocks in torch.nn.LSTM's weights, and in delta


def _case(rng: np.random.Generator, B: int, D: int, H: int, T: int) -> tuple[Any, ...]:
    params = random_params(rng, D, H, gates=4)
    x, h_prev, c_prev = rng.normal(size=(B, D)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    _, _, cache = lstm_step_forward(x, h_prev, c_prev, params)
    return rng.normal(size=(B, H)), rng.normal(size=(B, H)), cache, params


def _outputs(dx: np.ndarray, dh_prev: np.ndarray, dc_prev: np.ndarray, grads: dict[str, np.ndarray]) -> Outputs:
    return {"dx": dx, "dh_prev": dh_prev, "dc_prev": dc_prev, "dW_ih": grads["weight_ih"],
            "dW_hh": grads["weight_hh"], "db_ih": grads["bias_ih"], "db_hh": grads["bias_hh"]}


def _reference(dh: np.ndarray, dc: np.ndarray, cache: tuple[np.ndarray, ...], params: dict[str, np.ndarray]) -> Outputs:
    x, h_prev, c_prev, i, f, g, o, tanh_c = cache
    return _outputs(*lstm_step_backward(dh, dc, (x, h_prev, c_prev, i, f, g, o, tanh_c), params))


def _variant(dh: np.ndarray, dc: np.ndarray, cache: tuple[np.ndarray, ...], params: dict[str, np.ndarray], *,
             order: str = GATES, cache_order: str = GATES, h_path: bool = True, carry: bool = True,
             tanh_c_slope: str = "1-tanh^2", gate_slopes: bool = True, g_slope: bool = True,
             df_cell: str = "c_prev", dW_hh_state: str = "h_prev", forget_in_carry: bool = True,
             batch: str = "sum") -> Outputs:
    x, h_prev, c_prev, *gates, tanh_c = cache
    i, f, g, o = (dict(zip(cache_order, gates))[k] for k in GATES)  # read the cache in cache_order
    W_ih, W_hh = params["weight_ih"], params["weight_hh"]
    slope_c = {"1-tanh^2": 1.0 - tanh_c ** 2, "none": np.ones_like(tanh_c), "1+tanh^2": 1.0 + tanh_c ** 2}[tanh_c_slope]
    do = dh * tanh_c
    zero = np.zeros_like(dc)
    dc_t = (dc if carry else zero) + (dh * o * slope_c if h_path else zero)
    cell = f * c_prev + i * g if df_cell == "c" else c_prev
    di, df, dg = dc_t * g, dc_t * cell, dc_t * i
    dc_prev = dc_t * f if forget_in_carry else dc_t
    sig = (lambda s: s * (1.0 - s)) if gate_slopes else (lambda s: np.ones_like(s))
    blocks = {"i": di * sig(i), "f": df * sig(f), "g": dg * ((1.0 - g * g) if g_slope else 1.0), "o": do * sig(o)}
    da = np.concatenate([blocks[k] for k in order], axis=1)
    n = len(x) if batch == "mean" else 1
    state = o * tanh_c if dW_hh_state == "h" else h_prev
    grads = {"weight_ih": da.T @ x / n, "weight_hh": da.T @ state / n,
             "bias_ih": da.sum(axis=0) / n, "bias_hh": da.sum(axis=0) / n}
    return _outputs(da @ W_ih, da @ W_hh, dc_prev, grads)


#: The wrong answers :func:`~rnnbook.exercises.check_lstm_step_backward` recognises.
MISTAKES = (
    Mistake("missing_h_path", "dc is missing the path through h_t: dL/dc_t = dc + dh * o_t * (1 - tanh(c_t)^2) "
            "(h_t = o_t * tanh(c_t) depends on c_t too).", partial(_variant, h_path=False)),
    Mistake("dc_next_not_carried", "the incoming dc (from c_{t+1}, the carousel) is ignored: "
            "dL/dc_t = dc + dh * o_t * (1 - tanh(c_t)^2).", partial(_variant, carry=False)),
    Mistake("missing_tanh_derivative", "the derivative of tanh(c_t) is missing: the path through h_t "
            "adds dh * o_t * (1 - tanh(c_t)^2) to dc, not dh * o_t.", partial(_variant, tanh_c_slope="none")),
    Mistake("sign_error", "a sign error in tanh'(c_t): it is 1 - tanh(c_t)^2, not 1 + tanh(c_t)^2.",
            partial(_variant, tanh_c_slope="1+tanh^2")),
    Mistake("missing_sigmoid_derivative", "the sigmoid derivative of the gates is missing: the i, f, o blocks "
            "of delta are d(gate) * s * (1 - s).", partial(_variant, gate_slopes=False)),
    Mistake("missing_tanh_derivative", "the tanh derivative of the candidate is missing: the g block of "
            "delta is dg * (1 - g_t^2).", partial(_variant, g_slope=False)),
    Mistake("uses_c_not_c_prev", "df uses c_t, the new cell, where it needs c_{t-1}: "
            "dL/df_t = dL/dc_t * c_{t-1} (f_t multiplied c_{t-1} in the forward pass).", partial(_variant, df_cell="c")),
    Mistake("uses_h_not_h_prev", "dW_hh uses h_t, the new state, where it needs h_{t-1}: "
            "dW_hh = delta^T @ h_prev.", partial(_variant, dW_hh_state="h")),
    Mistake("missing_forget_in_carry", "dc_prev lacks the forget gate: dL/dc_{t-1} = dL/dc_t * f_t "
            "(the carousel is scaled by f_t at each step).", partial(_variant, forget_in_carry=False)),
    Mistake("averaged_over_batch", "the gradients are averaged over the batch; a step's gradients are "
            "summed over the batch, e.g. db = delta.sum(axis=0).", partial(_variant, batch="mean")),
    Mistake("wrong_gate_order", "the cache was unpacked as (..., i, f, o, g, ...); lstm_step_forward's "
            "cache is (x, h_prev, c_prev, i, f, g, o, tanh_c).", partial(_variant, cache_order="ifog")),
    *gate_order_mistakes(GATES, "the blocks of delta are stacked", lambda order: partial(_variant, order=order)),
)

#: The exercise of chapter 3, one step of the LSTM backward.
LSTM_STEP_BACKWARD = Exercise(
    name="lstm_step_backward", arguments=("dh", "dc", "cache", "params"), returns="(dx, dh_prev, dc_prev, grads)",
    make_case=_case, reference=_reference, layout=("dx", "dh_prev", "dc_prev", "grads"),
    shapes={"dx": "(B, D)", "dh_prev": "(B, H)", "dc_prev": "(B, H)", "dW_ih": "(4H, D)", "dW_hh": "(4H, H)",
            "db_ih": "(4H,)", "db_hh": "(4H,)"},
    mistakes=MISTAKES, seed=4)


def check_lstm_step_backward(fn: Any, verbose: bool = True) -> Verdict:
    """Check the reader's ``fn(dh, dc, cache, params) -> (dx, dh_prev, dc_prev, grads)``: the
    backward pass of one LSTM step (chapter 3, eqs. ``lstm-do`` to ``lstm-dparams``).

    ``dh`` is everything that reaches :math:`h_t`, ``dc`` what reaches :math:`c_t` from step
    :math:`t+1`; ``cache`` is ``(x, h_prev, c_prev, i, f, g, o, tanh_c)`` as
    :func:`rnnbook.numpy.lstm_step_forward` returns it; ``grads`` has the keys ``weight_ih``,
    ``weight_hh``, ``bias_ih``, ``bias_hh`` (gate blocks i, f, g, o).

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
        If ``fn`` is not callable or cannot be called as ``fn(dh, dc, cache, params)``.
    """
    return run_check(LSTM_STEP_BACKWARD, fn, verbose)
