"""The exercise checkers (rnnbook.exercises): they accept the reference and the chapters' hidden
solutions, reject each typical wrong answer with the right diagnosis, and refuse bad arguments.

The wrong answers here are written independently of the checkers' own wrong variants: each is a
plausible reader's function with one mistake, switched on by a keyword.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import nbformat
import numpy as np
import pytest

import rnnbook.numpy as ref
from rnnbook.exercises import (check_gru_step_backward, check_gru_step_forward, check_lstm_step_backward, check_rnn_backward,
                               check_rnn_step_backward, check_rnn_step_forward)
from rnnbook.exercises.core import SIZES, run_check
from rnnbook.exercises.gru import _backward_exercise as gru_backward_exercise
from rnnbook.exercises.gru import _exercise as gru_exercise
from rnnbook.exercises.lstm import LSTM_STEP_BACKWARD
from rnnbook.exercises.rnn import RNN_BACKWARD, RNN_STEP_BACKWARD, RNN_STEP_FORWARD

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def quiet(check, fn, **kwargs):
    """Run a checker without printing; return its verdict."""
    with contextlib.redirect_stdout(io.StringIO()):
        return check(fn, **kwargs)


def sig(a):
    return 1.0 / (1.0 + np.exp(-a))


# --- chapter 1: one RNN step forward ---------------------------------------------------------

def rnn_forward(x, h_prev, params, *, mistake=None):
    W_ih, W_hh, b_ih, b_hh = (params[k] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    Wx = x @ W_ih if mistake == "transpose" else np.einsum("hd,bd->bh", W_ih, x)
    Wh = 0.0 if mistake == "recurrent" else np.einsum("hk,bk->bh", W_hh, h_prev)
    a = Wx + Wh + b_ih + (0.0 if mistake == "bias" else b_hh)
    if mistake == "no_tanh":
        return a
    if mistake == "relu":
        return np.maximum(a, 0)
    if mistake == "float32":
        return np.tanh(a).astype(np.float32)
    if mistake == "list":
        return np.tanh(a).tolist()
    if mistake == "transposed_output":
        return np.tanh(a).T
    if mistake == "scaled":
        return 0.5 * np.tanh(a)
    return np.tanh(a)


@pytest.mark.parametrize("mistake, cause", [
    ("transpose", "missing_transpose"), ("recurrent", "missing_recurrent_term"), ("bias", "missing_bias"),
    ("no_tanh", "missing_nonlinearity"), ("relu", "wrong_nonlinearity"), ("float32", "wrong_dtype"),
    ("list", "wrong_type"), ("transposed_output", "missing_transpose"), ("scaled", "unknown"),
])
def test_rnn_step_forward_diagnoses(mistake, cause):
    verdict = quiet(check_rnn_step_forward, lambda x, h_prev, params: rnn_forward(x, h_prev, params, mistake=mistake))
    assert not verdict.passed and verdict.cause == cause and verdict.output == "h", verdict.message
    assert "h" in verdict.message and "case 1 of" in verdict.message


def test_rnn_step_forward_accepts_correct_answers_and_the_reference():
    assert quiet(check_rnn_step_forward, rnn_forward)
    assert quiet(check_rnn_step_forward, ref.rnn_step_forward)  # returns (h, cache): accepted
    verdict = quiet(check_rnn_step_forward, lambda *args: rnn_forward(*args))
    assert verdict.passed and verdict.cases == len(SIZES) and f"all {len(SIZES)} cases" in verdict.message


def test_verdict_reports_the_worst_entry_and_errors():
    verdict = quiet(check_rnn_step_forward, lambda x, h_prev, params: rnn_forward(x, h_prev, params, mistake="scaled"))
    assert "entries wrong; worst at [" in verdict.message and "max abs error" in verdict.message
    assert "max rel error" in verdict.message


def test_not_implemented_exceptions_shape_errors_and_in_place_changes():
    def stub(x, h_prev, params):
        raise NotImplementedError

    def column_layout(x, h_prev, params):  # W @ x as on paper: shapes do not fit a batch of rows
        return np.tanh(params["weight_ih"] @ x + params["weight_hh"] @ h_prev)

    def buggy(x, h_prev, params):
        return np.tanh(params["weight_xh"])

    def in_place(x, h_prev, params):
        h_prev += 1.0
        return rnn_forward(x, h_prev - 1.0, params)

    assert quiet(check_rnn_step_forward, stub).cause == "not_implemented"
    verdict = quiet(check_rnn_step_forward, column_layout)
    assert verdict.cause == "shape_error" and "x @ W.T" in verdict.message and "line 2 of column_layout" in verdict.message
    verdict = quiet(check_rnn_step_forward, buggy)
    assert verdict.cause == "exception" and "KeyError" in verdict.message
    verdict = quiet(check_rnn_step_forward, in_place)
    assert verdict.cause == "modified_input" and verdict.output == "h_prev"


@pytest.mark.parametrize("check", [check_rnn_step_forward, check_rnn_step_backward, check_rnn_backward,
                                   check_lstm_step_backward, check_gru_step_forward, check_gru_step_backward])
def test_bad_arguments_are_a_clear_type_error(check):
    with pytest.raises(TypeError, match="fn must be the function you wrote"):
        check(42)
    with pytest.raises(TypeError, match="fn must take the arguments"):
        check(lambda a: a)
    with pytest.raises(TypeError, match="fn must take the arguments"):
        check(lambda a, b, c, d, e: a)


def test_gru_reset_after_must_be_a_bool():
    with pytest.raises(TypeError, match="reset_after"):
        check_gru_step_forward(ref.gru_step_forward, reset_after="yes")
    with pytest.raises(TypeError, match="reset_after"):
        check_gru_step_backward(ref.gru_step_backward, reset_after=1)


def test_output_is_deterministic():
    wrong = lambda x, h_prev, params: rnn_forward(x, h_prev, params, mistake="recurrent")  # noqa: E731
    out = [io.StringIO(), io.StringIO()]
    for o in out:
        with contextlib.redirect_stdout(o):
            check_rnn_step_forward(wrong)
    assert out[0].getvalue() == out[1].getvalue() and out[0].getvalue().count("\n") >= 2


# --- chapter 2: one RNN step backward, and BPTT over a sequence ---------------------------------

def rnn_backward_step(dh, cache, params, *, mistake=None):
    x, h_prev, h = cache
    slope = {"no_slope": 1.0, "sign": 1 + h ** 2, "twice": 1 - np.tanh(h) ** 2}.get(mistake, 1 - h ** 2)
    da = dh * slope
    grads = {"weight_ih": np.einsum("bh,bd->hd", da, x),
             "weight_hh": np.einsum("bh,bk->hk", da, h if mistake == "h_not_h_prev" else h_prev),
             "bias_ih": da.sum(axis=0), "bias_hh": da if mistake == "no_batch_sum" else da.sum(axis=0)}
    if mistake == "dW_transposed":
        grads["weight_hh"] = grads["weight_hh"].T
    if mistake == "mean":
        grads = {k: v / len(x) for k, v in grads.items()}
    if mistake == "missing_key":
        del grads["bias_hh"]
    dx = np.einsum("bh,hd->bd", da, params["weight_ih"])
    dh_prev = da @ params["weight_hh"].T if mistake == "back_transposed" else da @ params["weight_hh"]
    if mistake == "no_recurrent":
        dh_prev = np.zeros_like(dh)
    if mistake == "two_values":
        return dx, grads
    return dx, dh_prev, grads


@pytest.mark.parametrize("mistake, cause, output", [
    ("no_slope", "missing_tanh_derivative", None), ("sign", "sign_error", None),
    ("twice", "tanh_applied_twice", None), ("h_not_h_prev", "uses_h_not_h_prev", "dW_hh"),
    ("dW_transposed", "missing_transpose", "dW_hh"), ("back_transposed", "missing_transpose", "dh_prev"),
    ("no_recurrent", "missing_recurrent_term", "dh_prev"), ("mean", "averaged_over_batch", None),
    ("no_batch_sum", "not_summed_over_batch", "db_hh"), ("missing_key", "wrong_structure", "grads"),
    ("two_values", "wrong_structure", None),
])
def test_rnn_step_backward_diagnoses(mistake, cause, output):
    verdict = quiet(check_rnn_step_backward, lambda dh, cache, params: rnn_backward_step(dh, cache, params, mistake=mistake))
    assert not verdict.passed and verdict.cause == cause, verdict.message
    if output is not None:
        assert verdict.output == output, verdict.message


def test_rnn_step_backward_accepts_correct_answers_and_the_reference():
    assert quiet(check_rnn_step_backward, rnn_backward_step)
    assert quiet(check_rnn_step_backward, ref.rnn_step_backward)


def bptt(dY, caches, params, *, mistake=None):
    T = len(caches)
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dX = np.zeros((T, *caches[0][0].shape))
    dh_next = np.zeros(dY.shape[1:])
    steps = range(T) if mistake == "forwards" else range(T - 1, -1, -1)
    for t in steps:
        if mistake == "no_carry":
            dh = dY[t]
        elif mistake == "no_outputs":
            dh = dh_next + (dY[t] if t == T - 1 else 0.0)
        else:
            dh = dY[t] + dh_next
        dX[t], dh_next, g = rnn_backward_step(dh, caches[t], params)
        for k in grads:
            grads[k] = g[k] if mistake == "overwrite" else grads[k] + g[k]
    return dX, dh_next, grads


@pytest.mark.parametrize("mistake, cause", [
    ("no_carry", "dh_next_not_carried"), ("no_outputs", "output_gradient_dropped"),
    ("overwrite", "not_summed_over_time"), ("forwards", "wrong_time_order"),
])
def test_rnn_backward_diagnoses(mistake, cause):
    verdict = quiet(check_rnn_backward, lambda dY, caches, params: bptt(dY, caches, params, mistake=mistake))
    assert not verdict.passed and verdict.cause == cause, verdict.message
    assert "T=" in verdict.message


def test_rnn_backward_accepts_a_correct_answer():
    assert quiet(check_rnn_backward, bptt)


# --- chapter 3: one LSTM step backward ---------------------------------------------------------

def lstm_backward_step(dh, dc, cache, params, *, mistake=None):
    x, h_prev, c_prev, i, f, g, o, tanh_c = cache
    if mistake == "cache_order":
        x, h_prev, c_prev, i, f, o, g, tanh_c = cache
    slope_c = {"no_tanh_c": 1.0, "sign": 1 + tanh_c ** 2}.get(mistake, 1 - tanh_c ** 2)
    dc_t = (0.0 if mistake == "no_carry" else dc) + (0.0 if mistake == "no_h_path" else dh * o * slope_c)
    c = f * c_prev + i * g
    d_i = dc_t * g * (1.0 if mistake == "no_sigmoid" else i * (1 - i))
    d_f = dc_t * (c if mistake == "c_not_c_prev" else c_prev) * (1.0 if mistake == "no_sigmoid" else f * (1 - f))
    d_g = dc_t * i * (1.0 if mistake == "no_tanh_g" else 1 - g ** 2)
    d_o = dh * tanh_c * (1.0 if mistake == "no_sigmoid" else o * (1 - o))
    blocks = {"i": d_i, "f": d_f, "g": d_g, "o": d_o}
    da = np.hstack([blocks[k] for k in ("ifog" if mistake == "ifog" else "ifgo")])
    state = o * tanh_c if mistake == "h_not_h_prev" else h_prev
    grads = {"weight_ih": da.T @ x, "weight_hh": state.T @ da if mistake == "dW_transposed" else da.T @ state,
             "bias_ih": da.sum(0), "bias_hh": da.sum(0)}
    dc_prev = dc_t if mistake == "no_forget" else dc_t * f
    return da @ params["weight_ih"], da @ params["weight_hh"], dc_prev, grads


@pytest.mark.parametrize("mistake, cause, output", [
    ("no_h_path", "missing_h_path", None), ("no_carry", "dc_next_not_carried", None),
    ("no_tanh_c", "missing_tanh_derivative", None), ("sign", "sign_error", None),
    ("no_sigmoid", "missing_sigmoid_derivative", None), ("no_tanh_g", "missing_tanh_derivative", None),
    ("c_not_c_prev", "uses_c_not_c_prev", None), ("h_not_h_prev", "uses_h_not_h_prev", "dW_hh"),
    ("no_forget", "missing_forget_in_carry", "dc_prev"), ("ifog", "wrong_gate_order", None),
    ("cache_order", "wrong_gate_order", None), ("dW_transposed", "missing_transpose", "dW_hh"),
])
def test_lstm_step_backward_diagnoses(mistake, cause, output):
    verdict = quiet(check_lstm_step_backward,
                    lambda dh, dc, cache, params: lstm_backward_step(dh, dc, cache, params, mistake=mistake))
    assert not verdict.passed and verdict.cause == cause, verdict.message
    if output is not None:
        assert verdict.output == output, verdict.message
    if mistake == "ifog":
        assert "i, f, o, g" in verdict.message


def test_lstm_step_backward_accepts_correct_answers_and_the_reference():
    assert quiet(check_lstm_step_backward, lstm_backward_step)
    assert quiet(check_lstm_step_backward, ref.lstm_step_backward)


# --- chapter 4: one GRU step forward -------------------------------------------------------------

def gru_forward(x, h_prev, params, *, after=True, mistake=None):
    H = h_prev.shape[1]
    names = ("z", "r", "n") if mistake == "zrn" else ("r", "z", "n")
    W = {g: (params["weight_ih"][k * H:(k + 1) * H], params["weight_hh"][k * H:(k + 1) * H],
             params["bias_ih"][k * H:(k + 1) * H], params["bias_hh"][k * H:(k + 1) * H]) for k, g in enumerate(names)}
    lin = (lambda v, M: v @ M) if mistake == "transpose" else (lambda v, M: v @ M.T)
    r = sig(lin(x, W["r"][0]) + W["r"][2] + lin(h_prev, W["r"][1]) + W["r"][3])
    z = sig(lin(x, W["z"][0]) + W["z"][2] + lin(h_prev, W["z"][1]) + W["z"][3])
    if mistake == "no_reset":
        r = np.ones_like(r)
    use_after = not after if mistake == "placement" else after
    if use_after and mistake == "b_hn_outside":
        n = np.tanh(lin(x, W["n"][0]) + W["n"][2] + r * lin(h_prev, W["n"][1]) + W["n"][3])
    elif use_after:
        n = np.tanh(lin(x, W["n"][0]) + W["n"][2] + r * (lin(h_prev, W["n"][1]) + W["n"][3]))
    else:
        n = np.tanh(lin(x, W["n"][0]) + W["n"][2] + lin(r * h_prev, W["n"][1]) + W["n"][3])
    return z * n + (1 - z) * h_prev if mistake == "flip" else (1 - z) * n + z * h_prev


@pytest.mark.parametrize("after", [True, False])
@pytest.mark.parametrize("mistake, cause", [
    ("zrn", "wrong_gate_order"), ("placement", "wrong_reset_placement"), ("flip", "update_gate_flipped"),
    ("no_reset", "missing_reset_gate"), ("transpose", "missing_transpose"), ("b_hn_outside", "b_hn_outside_reset"),
])
def test_gru_step_forward_diagnoses(after, mistake, cause):
    if mistake == "b_hn_outside" and not after:
        pytest.skip("b_hn sits outside the reset gate in Cho et al.'s form anyway")
    verdict = quiet(check_gru_step_forward, lambda x, h_prev, params: gru_forward(x, h_prev, params, after=after,
                                                                                 mistake=mistake), reset_after=after)
    assert not verdict.passed and verdict.cause == cause and verdict.output == "h", verdict.message


@pytest.mark.parametrize("after", [True, False])
def test_gru_step_forward_accepts_correct_answers_and_the_reference(after):
    assert quiet(check_gru_step_forward, lambda x, h_prev, params: gru_forward(x, h_prev, params, after=after),
                 reset_after=after)
    assert quiet(check_gru_step_forward, ref.gru_step_forward, reset_after=after)  # takes reset_after: it is passed
    wrong_form = quiet(check_gru_step_forward, lambda x, h_prev, params: gru_forward(x, h_prev, params, after=not after),
                       reset_after=after)
    assert wrong_form.cause == "wrong_reset_placement"
    assert f"(reset_after={after}) is wrong on case 1" in wrong_form.message  # says which form it checked


def gru_backward_step(dh, cache, params, *, after=True, mistake=None):
    x, h_prev, r, z, n, hn = cache
    Wr, Wz, Wn = np.split(params["weight_hh"], 3)
    dn, dz = dh * (1 - z), dh * (n - h_prev if mistake == "sign" else h_prev - n)
    dh_prev = np.zeros_like(dh) if mistake == "no_direct" else dh * z
    d_n = dn * (1 - n ** 2)
    d_z = dz * z * (1 - z)
    if after:
        d_r = d_n * hn * r * (1 - r)
        n_h = d_n if mistake == "no_r" else d_n * r          # gradient of W_hn h + b_hn
        dW_hh = np.vstack([d_r.T @ h_prev, d_z.T @ h_prev, n_h.T @ h_prev])
        db_hh = np.concatenate([d_r.sum(0), d_z.sum(0), n_h.sum(0)])
        dh_prev = dh_prev + d_r @ Wr + d_z @ Wz + n_h @ Wn
    else:
        back = d_n @ Wn                                       # gradient of r * h_prev
        d_r = back * h_prev * r * (1 - r)
        rh = h_prev if mistake == "no_r" else r * h_prev
        dW_hh = np.vstack([d_r.T @ h_prev, d_z.T @ h_prev, d_n.T @ rh])
        db_hh = np.concatenate([d_r.sum(0), d_z.sum(0), d_n.sum(0)])
        dh_prev = dh_prev + d_r @ Wr + d_z @ Wz + (back if mistake == "no_r" else back * r)
    blocks = [d_z, d_r, d_n] if mistake == "zrn" else [d_r, d_z, d_n]
    d_in = np.hstack(blocks)
    if mistake == "zrn":
        dW_hh = np.vstack([dW_hh[len(Wr):2 * len(Wr)], dW_hh[:len(Wr)], dW_hh[2 * len(Wr):]])
        db_hh = np.concatenate([db_hh[len(Wr):2 * len(Wr)], db_hh[:len(Wr)], db_hh[2 * len(Wr):]])
    grads = {"weight_ih": d_in.T @ x, "weight_hh": dW_hh, "bias_ih": d_in.sum(0), "bias_hh": db_hh}
    return d_in @ params["weight_ih"], dh_prev, grads


@pytest.mark.parametrize("after", [True, False])
@pytest.mark.parametrize("mistake, cause", [
    ("sign", "sign_error"), ("no_direct", "missing_direct_path"), ("no_r", "missing_reset_factor"),
    ("zrn", "wrong_gate_order"), ("other_form", "wrong_reset_placement"),
])
def test_gru_step_backward_diagnoses(after, mistake, cause):
    if mistake == "other_form":
        fn = lambda dh, cache, params: gru_backward_step(dh, cache, params, after=not after)  # noqa: E731
    else:
        fn = lambda dh, cache, params: gru_backward_step(dh, cache, params, after=after, mistake=mistake)  # noqa: E731
    verdict = quiet(check_gru_step_backward, fn, reset_after=after)
    assert not verdict.passed and verdict.cause == cause, verdict.message


@pytest.mark.parametrize("after", [True, False])
def test_gru_step_backward_accepts_correct_answers_and_the_reference(after):
    assert quiet(check_gru_step_backward, lambda dh, cache, params: gru_backward_step(dh, cache, params, after=after),
                 reset_after=after)
    assert quiet(check_gru_step_backward, ref.gru_step_backward, reset_after=after)


# --- the checkers' own wrong variants ------------------------------------------------------------

EXERCISES = [RNN_STEP_FORWARD, RNN_STEP_BACKWARD, RNN_BACKWARD, LSTM_STEP_BACKWARD, gru_exercise(True),
             gru_exercise(False), gru_backward_exercise(True), gru_backward_exercise(False)]


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_every_known_mistake_changes_an_output_on_the_first_case(exercise):
    """A variant equal to the reference could never be diagnosed (and would flag right answers)."""
    args = exercise.make_case(np.random.default_rng(exercise.seed), *SIZES[0])
    expected = exercise.reference(*args, **exercise.options)
    for mistake in exercise.mistakes:
        variant = mistake.compute(*args, **exercise.options)
        assert variant.keys() == expected.keys()
        differs = [k for k in expected if variant[k].shape != expected[k].shape
                   or not np.allclose(variant[k], expected[k], rtol=0, atol=1e-6)]
        assert differs, f"{exercise.name}: the variant {mistake.explanation!r} equals the reference"


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_a_variant_is_diagnosed_as_itself(exercise):
    """Fed back to the checker, each variant gets its own cause (or one of the same kind)."""
    for mistake in exercise.mistakes:
        def fn(*args, **kwargs):
            out = mistake.compute(*args, **kwargs)
            return _as_returned(exercise, out)
        with contextlib.redirect_stdout(io.StringIO()):
            verdict = run_check(exercise, fn)
        assert verdict.cause == mistake.cause, (mistake.explanation, verdict.message)


def _as_returned(exercise, out):
    if exercise.layout == ("h",):
        return out["h"]
    grads = {"weight_ih": out["dW_ih"], "weight_hh": out["dW_hh"], "bias_ih": out["db_ih"], "bias_hh": out["db_hh"]}
    return (*(out[name] for name in exercise.layout[:-1]), grads)


# --- the chapters' exercise cells and hidden solutions ----------------------------------------------

def _exercise_cells(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    return [c for c in nb.cells if c.cell_type == "code"
            and {"exercise", "solution"} & set(c.get("metadata", {}).get("tags", []))]


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_exercise_cells_run_and_hidden_solutions_pass(nb_path):
    """Each chapter has an implement-type exercise: its stub reports 'not implemented yet' and its
    hidden solution (tagged hide-input and solution) passes the checker."""
    cells = _exercise_cells(nb_path)
    tags = [set(c.metadata.get("tags", [])) for c in cells]
    assert any("exercise" in t for t in tags) and any("solution" in t for t in tags), nb_path.name
    assert all("hide-input" in t for t in tags if "solution" in t), "solutions must be hidden (hide-input)"
    namespace = {"np": np}
    for cell, t in zip(cells, tags):
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(cell.source, f"{nb_path.name}:cell", "exec"), namespace)  # noqa: S102
        verdict = namespace["verdict"]
        if "solution" in t:
            assert verdict.passed, verdict.message
        else:
            assert verdict.cause == "not_implemented", verdict.message
