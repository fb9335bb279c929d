"""The checkers for chapter 4's exercises: one GRU step forward and one step backward, in either
form of the candidate.

Each wrong variant is the reference with one common mistake in it; the checker names the mistake
whose variant computes exactly what the reader's function computed.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from rnnbook.checks import check_bool
from rnnbook.exercises.core import Exercise, Mistake, Outputs, Verdict, gate_order_mistakes, run_check
from rnnbook.exercises.rnn import random_params
from rnnbook.numpy.activations import sigmoid
from rnnbook.numpy.gru import gru_step_backward, gru_step_forward

#: The order of the gate blocks in ``torch.nn.GRU``'s weights.
GATES = "rzn"  # the order of the blocks in torch.nn.GRU's weights


def _case(rng: np.random.Generator, B: int, D: int, H: int, T: int) -> tuple[Any, ...]:
    return rng.normal(size=(B, D)), rng.normal(size=(B, H)), random_params(rng, D, H, gates=3)


def _reference(x: np.ndarray, h_prev: np.ndarray, params: dict[str, np.ndarray], reset_after: bool = True) -> Outputs:
    return {"h": gru_step_forward(x, h_prev, params, reset_after)[0]}


def _variant(x: np.ndarray, h_prev: np.ndarray, params: dict[str, np.ndarray], reset_after: bool = True, *,
             order: str = GATES, placement: str = "", flip_update: bool = False, b_hn_inside: bool = True,
             reset: bool = True, interpolate: bool = True, transpose: bool = True, recurrent: bool = True) -> Outputs:
    H = h_prev.shape[1]
    blocks = {}
    for k, gate in enumerate(order):  # the reader takes block k to be `gate`
        rows = slice(k * H, (k + 1) * H)
        blocks[gate] = {name: p[rows] for name, p in params.items()}

    def affine(v: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
        return v @ (W.T if transpose else W) + b

    r_, z_, n_ = blocks["r"], blocks["z"], blocks["n"]
    hh = (lambda v, p: affine(v, p["weight_hh"], p["bias_hh"])) if recurrent else (lambda v, p: p["bias_hh"] + 0.0 * v[:, :1])
    r = sigmoid(affine(x, r_["weight_ih"], r_["bias_ih"]) + hh(h_prev, r_)) if reset else 1.0
    z = sigmoid(affine(x, z_["weight_ih"], z_["bias_ih"]) + hh(h_prev, z_))
    after = reset_after if not placement else placement == "after"
    if after:
        hn = hh(h_prev, n_) if b_hn_inside else hh(h_prev, n_) - n_["bias_hh"]
        n = np.tanh(affine(x, n_["weight_ih"], n_["bias_ih"]) + r * hn + (0.0 if b_hn_inside else n_["bias_hh"]))
    else:
        n = np.tanh(affine(x, n_["weight_ih"], n_["bias_ih"]) + hh(r * h_prev, n_))
    if not interpolate:
        return {"h": n}
    return {"h": z * n + (1.0 - z) * h_prev if flip_update else (1.0 - z) * n + z * h_prev}


def _mistakes(reset_after: bool) -> tuple[Mistake, ...]:
    here, other = ("after", "cho") if reset_after else ("cho", "after")
    forms = {"after": "r_t * (W_hn h_{t-1} + b_hn), as torch.nn.GRU computes it",
             "cho": "W_hn (r_t * h_{t-1}) + b_hn, as in Cho et al. (2014)"}
    mistakes = [
        Mistake("wrong_reset_placement", f"the reset gate acts in the other place: this form computes "
                f"{forms[here]}, yours computes {forms[other]}.", partial(_variant, placement=other)),
        Mistake("update_gate_flipped", "the update gate is the wrong way round: h_t = (1 - z_t) * n_t + "
                "z_t * h_{t-1} (z_t near 1 keeps the old state).", partial(_variant, flip_update=True)),
        Mistake("missing_reset_gate", "the reset gate is missing from the candidate.", partial(_variant, reset=False)),
        Mistake("missing_interpolation", "the candidate n_t is returned as the state; h_t = (1 - z_t) * n_t + "
                "z_t * h_{t-1}.", partial(_variant, interpolate=False)),
        Mistake("missing_transpose", "a missing transpose: for a batch of rows W x_t is written x @ W.T "
                "(each block of weight_ih has shape (H, D)).", partial(_variant, transpose=False)),
        Mistake("missing_recurrent_term", "the recurrent terms W_h* h_{t-1} are missing: the gates and the "
                "candidate all read h_{t-1}.", partial(_variant, recurrent=False)),
    ]
    if reset_after:
        mistakes.append(Mistake("b_hn_outside_reset", "b_hn is added outside the reset gate; torch.nn.GRU "
                                "computes r_t * (W_hn h_{t-1} + b_hn), with b_hn inside.",
                                partial(_variant, b_hn_inside=False)))
    mistakes += gate_order_mistakes(GATES, "the weight blocks were read", lambda order: partial(_variant, order=order))
    return tuple(mistakes)


def _exercise(reset_after: bool) -> Exercise:
    return Exercise(name="gru_step_forward", arguments=("x", "h_prev", "params"), returns="h",
                    make_case=_case, reference=_reference, layout=("h",), shapes={"h": "(B, H)"},
                    mistakes=_mistakes(reset_after), options={"reset_after": reset_after}, seed=5)


def check_gru_step_forward(fn: Any, reset_after: bool = True, verbose: bool = True) -> Verdict:
    """Check the reader's ``fn(x, h_prev, params) -> h``: one GRU step (chapter 4, eqs. ``gru-reset``,
    ``gru-update``, ``gru-candidate-after`` or ``gru-candidate-cho``, and ``gru-state``).

    ``params`` stacks the blocks r, z, n like ``torch.nn.GRUCell``: ``weight_ih`` (3H, D),
    ``weight_hh`` (3H, H), ``bias_ih`` (3H,), ``bias_hh`` (3H,). If ``fn`` takes a ``reset_after``
    argument it is passed; otherwise ``fn`` must compute the form that ``reset_after`` names.
    ``fn`` may also return ``(h, cache)`` like :func:`rnnbook.numpy.gru_step_forward`.

    Parameters
    ----------
    fn : callable
        The function to check.
    reset_after : bool, default True
        The form to check against: True for ``torch.nn.GRU``'s (eq. ``gru-candidate-after``),
        False for Cho et al.'s (eq. ``gru-candidate-cho``).
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
        If ``fn`` is not callable or cannot be called as ``fn(x, h_prev, params)``, or
        ``reset_after`` is not a bool.
    """
    return run_check(_exercise(check_bool("reset_after", reset_after)), fn, verbose)


# --- one step backward ------------------------------------------------------------------------

def _backward_case(rng: np.random.Generator, B: int, D: int, H: int, T: int, reset_after: bool) -> tuple[Any, ...]:
    x, h_prev, params = _case(rng, B, D, H, T)
    _, cache = gru_step_forward(x, h_prev, params, reset_after)
    return rng.normal(size=(B, H)), cache, params


def _grads_outputs(dx: np.ndarray, dh_prev: np.ndarray, grads: dict[str, np.ndarray]) -> Outputs:
    return {"dx": dx, "dh_prev": dh_prev, "dW_ih": grads["weight_ih"], "dW_hh": grads["weight_hh"],
            "db_ih": grads["bias_ih"], "db_hh": grads["bias_hh"]}


def _backward_reference(dh: np.ndarray, cache: tuple[np.ndarray, ...], params: dict[str, np.ndarray],
                        reset_after: bool = True) -> Outputs:
    x, h_prev, r, z, n, hn = cache
    return _grads_outputs(*gru_step_backward(dh, (x, h_prev, r, z, n, hn), params, reset_after))


def _backward_variant(dh: np.ndarray, cache: tuple[np.ndarray, ...], params: dict[str, np.ndarray],
                      reset_after: bool = True, *, order: str = GATES, dz_sign: float = 1.0,
                      flip_update: bool = False, direct: bool = True, n_slope: bool = True,
                      gate_slopes: bool = True, reset_factor: bool = True, dW_hh_state: str = "h_prev",
                      batch: str = "sum") -> Outputs:
    x, h_prev, r, z, n, hn = cache
    W_ih, W_hh = params["weight_ih"], params["weight_hh"]
    H = h_prev.shape[1]
    keep = 1.0 - z if flip_update else z                          # the factor of h_{t-1} in h_t
    dn = dh * (1.0 - keep)
    dz = dz_sign * dh * (h_prev - n) * (-1.0 if flip_update else 1.0)
    dh_prev = dh * keep if direct else np.zeros_like(dh)
    sig = (lambda s: s * (1.0 - s)) if gate_slopes else (lambda s: np.ones_like(s))
    da_n = dn * ((1.0 - n * n) if n_slope else 1.0)
    da_z = dz * sig(z)
    state = (1.0 - z) * n + z * h_prev if dW_hh_state == "h" else h_prev
    W_hn = W_hh[2 * H:]
    if reset_after:
        da_r = da_n * hn * sig(r)
        blocks_h = {"r": da_r, "z": da_z, "n": da_n * r if reset_factor else da_n}
        dgh = np.concatenate([blocks_h[k] for k in order], axis=1)
        dW_hh = dgh.T @ state
        dh_prev = dh_prev + dgh @ W_hh
    else:
        drh = da_n @ W_hn
        da_r = drh * h_prev * sig(r)
        blocks_h = {"r": da_r, "z": da_z, "n": da_n}
        dgh = np.concatenate([blocks_h[k] for k in order], axis=1)
        dW_hh = np.concatenate([dgh[:, :2 * H].T @ state, da_n.T @ (r * state if reset_factor else state)])
        dh_prev = dh_prev + dgh[:, :2 * H] @ W_hh[:2 * H] + (drh * r if reset_factor else drh)
    blocks_i = {"r": da_r, "z": da_z, "n": da_n}
    dgi = np.concatenate([blocks_i[k] for k in order], axis=1)
    m = len(x) if batch == "mean" else 1
    grads = {"weight_ih": dgi.T @ x / m, "weight_hh": dW_hh / m, "bias_ih": dgi.sum(axis=0) / m,
             "bias_hh": dgh.sum(axis=0) / m}
    return _grads_outputs(dgi @ W_ih, dh_prev, grads)


def _other_form(dh: np.ndarray, cache: tuple[np.ndarray, ...], params: dict[str, np.ndarray],
                reset_after: bool = True) -> Outputs:
    x, h_prev, r, z, n, hn = cache
    return _grads_outputs(*gru_step_backward(dh, (x, h_prev, r, z, n, hn), params, not reset_after))


def _backward_mistakes(reset_after: bool) -> tuple[Mistake, ...]:
    factor = ("the n block of g^h is r_t * delta^n (the reset gate multiplied W_hn h_{t-1} + b_hn), so "
              "dW_hn, db_hn and dh_prev carry r_t" if reset_after else
              "W_hn multiplied r_t * h_{t-1}, so dW_hn = delta^n^T (r_t * h_{t-1}) and dh_prev gets "
              "r_t * (W_hn^T delta^n)")
    mistakes = [
        Mistake("sign_error", "a sign error in dz: dL/dz_t = dh * (h_{t-1} - n_t), since h_t = (1 - z_t) * n_t "
                "+ z_t * h_{t-1}.", partial(_backward_variant, dz_sign=-1.0)),
        Mistake("update_gate_flipped", "the update gate is the wrong way round: dn = dh * (1 - z_t) and the "
                "direct path is dh * z_t.", partial(_backward_variant, flip_update=True)),
        Mistake("missing_direct_path", "the direct path is missing: dh_prev starts from dh * z_t, then adds "
                "what flows back through the gates and the candidate.", partial(_backward_variant, direct=False)),
        Mistake("missing_tanh_derivative", "the tanh derivative of the candidate is missing: delta^n = dn * "
                "(1 - n_t^2).", partial(_backward_variant, n_slope=False)),
        Mistake("missing_sigmoid_derivative", "the sigmoid derivative of the gates is missing: delta^r = dr * "
                "r_t (1 - r_t), delta^z = dz * z_t (1 - z_t).", partial(_backward_variant, gate_slopes=False)),
        Mistake("missing_reset_factor", f"the reset gate's factor is missing: {factor}.",
                partial(_backward_variant, reset_factor=False)),
        Mistake("uses_h_not_h_prev", "dW_hh uses h_t, the new state, where it needs h_{t-1}.",
                partial(_backward_variant, dW_hh_state="h")),
        Mistake("wrong_reset_placement", "this is the backward pass of the other form of the candidate "
                f"(reset_after={not reset_after}).", _other_form),
        Mistake("averaged_over_batch", "the gradients are averaged over the batch; a step's gradients are "
                "summed over the batch, e.g. db = delta.sum(axis=0).", partial(_backward_variant, batch="mean")),
    ]
    mistakes += gate_order_mistakes(GATES, "the gradient blocks are stacked",
                                    lambda order: partial(_backward_variant, order=order))
    return tuple(mistakes)


def _backward_exercise(reset_after: bool) -> Exercise:
    def make_case(rng: np.random.Generator, B: int, D: int, H: int, T: int) -> tuple[Any, ...]:
        return _backward_case(rng, B, D, H, T, reset_after)
    return Exercise(name="gru_step_backward", arguments=("dh", "cache", "params"), returns="(dx, dh_prev, grads)",
                    make_case=make_case, reference=_backward_reference, layout=("dx", "dh_prev", "grads"),
                    shapes={"dx": "(B, D)", "dh_prev": "(B, H)", "dW_ih": "(3H, D)", "dW_hh": "(3H, H)",
                            "db_ih": "(3H,)", "db_hh": "(3H,)"},
                    mistakes=_backward_mistakes(reset_after), options={"reset_after": reset_after}, seed=6)


def check_gru_step_backward(fn: Any, reset_after: bool = True, verbose: bool = True) -> Verdict:
    """Check the reader's ``fn(dh, cache, params) -> (dx, dh_prev, grads)``: the backward pass of one
    GRU step (chapter 4, eqs. ``gru-grad-state`` to ``gru-grad-input``).

    ``cache`` is ``(x, h_prev, r, z, n, hn)`` as :func:`rnnbook.numpy.gru_step_forward` returns it
    for the form ``reset_after`` (``hn`` is :math:`W_{hn} h_{t-1} + b_{hn}` for True,
    :math:`W_{hn} (r_t \\odot h_{t-1}) + b_{hn}` for False); ``grads`` has the keys ``weight_ih``,
    ``weight_hh``, ``bias_ih``, ``bias_hh`` (blocks r, z, n). If ``fn`` takes a ``reset_after``
    argument it is passed.

    Parameters
    ----------
    fn : callable
        The function to check.
    reset_after : bool, default True
        The form to check against.
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    Verdict
        As :func:`check_gru_step_forward`'s.

    Raises
    ------
    TypeError
        If ``fn`` is not callable or cannot be called as ``fn(dh, cache, params)``, or
        ``reset_after`` is not a bool.
    """
    return run_check(_backward_exercise(check_bool("reset_after", reset_after)), fn, verbose)
