"""Bad input, everywhere in the public API, gets a clear error (issue 9): a table of cases.

Each case calls one public function or method with one thing wrong and requires

- the exception type: ``ValueError`` for a wrong value, shape or range, ``TypeError`` for a wrong
  type or dtype (subclasses are fine: ``StateDictError`` for state-dict keys is a ``ValueError``);
- a message that names the argument and shows what was given (each fragment listed must appear);
- no warning on the way (NumPy's overflow or cast warnings, Python's): warnings are errors here,
  and a NaN returned instead of an error fails the case because nothing is raised.

A second, smaller table checks that the valid edge cases (T = B = D = H = 1, NumPy integer
sizes, float32 where the API allows it) keep working, under the same no-warning rule.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import torch

import rnnbook.numpy as rn
import rnnbook.torch as rt
from rnnbook import device as device_mod
from rnnbook.data import adding_problem, delayed_echo
from rnnbook.gradcheck import check_gradients, error_bound, numerical_gradient, relative_error
from rnnbook.numpy.clip import clip_grad_norm, clip_grad_value
from rnnbook.seed import seed_everything
from rnnbook.state import from_torch_nn, to_torch_nn
from rnnbook.tbptt import truncated_bptt
from rnnbook.torch.clip import clip_grad_norm_, clip_grad_value_
from rnnbook.train import SequenceRegressor, TrainConfig, train_regressor

D, H, T, B = 3, 4, 5, 2
KINDS = ("RNN", "LSTM", "GRU")
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable[[], object]
    error: type[Exception]
    fragments: tuple[str, ...]


CASES: list[Case] = []


def bad(id: str, error: type[Exception], *fragments: str) -> Callable[[Callable[[], object]], None]:
    """Register ``call`` as a case: it must raise ``error`` with every fragment in its message."""
    def register(call: Callable[[], object]) -> None:
        CASES.append(Case(id, call, error, fragments))
    return register


def X_np(shape=(T, B, D), dtype=np.float64, fill=0.5):
    return np.full(shape, fill, dtype=dtype)


def np_layer(kind, dtype=np.float64):
    return getattr(rn, kind)(D, H, rng=np.random.default_rng(0), dtype=dtype)


def t_layer(kind, dtype=torch.float64):
    torch.manual_seed(0)
    return getattr(rt, kind)(D, H, dtype=dtype)


def np_forward(kind, X, state=None, dtype=np.float64):
    return np_layer(kind, dtype).forward(X, state)


def np_backward(kind, dY=None, **finals):
    layer = np_layer(kind)
    layer.forward(X_np())
    return layer.backward(np.zeros((T, B, H)) if dY is None else dY, **finals)


def good_state_dict(kind):
    return np_layer(kind).state_dict()


# ---------------------------------------------------------------- rnnbook.numpy: constructors
for kind in KINDS:
    cls = getattr(rn, kind)
    bad(f"numpy.{kind}(input_size=0)", ValueError, "input_size", "0")(lambda cls=cls: cls(0, H))
    bad(f"numpy.{kind}(hidden_size=-3)", ValueError, "hidden_size", "-3")(lambda cls=cls: cls(D, -3))
    bad(f"numpy.{kind}(input_size=2.5)", TypeError, "input_size", "2.5")(lambda cls=cls: cls(2.5, H))
    bad(f"numpy.{kind}(hidden_size=True)", TypeError, "hidden_size", "bool")(lambda cls=cls: cls(D, True))
    bad(f"numpy.{kind}(input_size='3')", TypeError, "input_size", "'3'")(lambda cls=cls: cls("3", H))
    bad(f"numpy.{kind}(hidden_size=None)", TypeError, "hidden_size", "None")(lambda cls=cls: cls(D, None))
    bad(f"numpy.{kind}(dtype=int32)", TypeError, "dtype", "int32")(lambda cls=cls: cls(D, H, dtype=np.int32))
    bad(f"numpy.{kind}(dtype=complex128)", TypeError, "dtype", "complex128")(lambda cls=cls: cls(D, H, dtype=np.complex128))
    bad(f"numpy.{kind}(dtype=bool)", TypeError, "dtype", "bool")(lambda cls=cls: cls(D, H, dtype=bool))
    bad(f"numpy.{kind}(dtype='banana')", TypeError, "dtype", "banana")(lambda cls=cls: cls(D, H, dtype="banana"))
    bad(f"numpy.{kind}(rng=0)", TypeError, "rng", "int")(lambda cls=cls: cls(D, H, rng=0))
bad("numpy.RNN(nonlinearity='sigmoid')", ValueError, "nonlinearity", "'sigmoid'")(lambda: rn.RNN(D, H, "sigmoid"))
bad("numpy.RNN(nonlinearity=None)", ValueError, "nonlinearity", "None")(lambda: rn.RNN(D, H, None))
bad("numpy.GRU(reset_after='no')", TypeError, "reset_after", "'no'")(lambda: rn.GRU(D, H, "no"))
bad("numpy.GRU(reset_after=1)", TypeError, "reset_after", "int")(lambda: rn.GRU(D, H, 1))

# ---------------------------------------------------------------- rnnbook.numpy: forward
X_cases = [
    ("2-D", ValueError, X_np((T, D)), ("X", "(5, 3)")),
    ("4-D", ValueError, X_np((T, B, D, 1)), ("X", "(5, 2, 3, 1)")),
    ("D=2", ValueError, X_np((T, B, 2)), ("X", "input_size=3", "last axis is 2")),
    ("T=0", ValueError, X_np((0, B, D)), ("X", "(0, 2, 3)")),
    ("B=0", ValueError, X_np((T, 0, D)), ("X", "(5, 0, 3)")),
    ("int64", TypeError, X_np(dtype=np.int64, fill=1), ("X", "int64")),
    ("bool", TypeError, X_np(dtype=bool, fill=True), ("X", "bool")),
    ("complex", TypeError, X_np(dtype=np.complex128), ("X", "complex128")),
    ("object", TypeError, X_np(dtype=object), ("X", "object")),
    ("str", TypeError, X_np(dtype="<U1", fill="a"), ("X", "<U1")),
    ("list", TypeError, X_np().tolist(), ("X", "list")),
    ("scalar", TypeError, 0.5, ("X", "float")),
    ("NaN", ValueError, X_np(fill=np.nan), ("X", "NaN")),
    ("inf", ValueError, X_np(fill=np.inf), ("X", "inf")),
]
for kind in KINDS:
    for label, error, X, frags in X_cases:
        bad(f"numpy.{kind}.forward(X {label})", error, *frags)(lambda kind=kind, X=X: np_forward(kind, X))
    bad(f"numpy.{kind}.forward(float64 X of 1e300 for float32)", ValueError, "X", "NaN or inf")(
        lambda kind=kind: np_forward(kind, X_np(fill=1e300), dtype=np.float32))

h_cases = [
    ("batch 3", ValueError, np.zeros((3, H)), ("(2, 4)", "(3, 4)")),
    ("H=5", ValueError, np.zeros((B, 5)), ("(2, 4)", "(2, 5)")),
    ("3-D", ValueError, np.zeros((1, B, H)), ("(2, 4)", "(1, 2, 4)")),
    ("1-D", ValueError, np.zeros(H), ("(2, 4)", "(4,)")),
    ("int64", TypeError, np.zeros((B, H), dtype=np.int64), ("int64",)),
    ("complex", TypeError, np.zeros((B, H), dtype=np.complex128), ("complex128",)),
    ("NaN", ValueError, np.full((B, H), np.nan), ("NaN",)),
    ("list", TypeError, np.zeros((B, H)).tolist(), ("list",)),
]
for kind in ("RNN", "GRU"):
    for label, error, h, frags in h_cases:
        bad(f"numpy.{kind}.forward(h0 {label})", error, "h0", *frags)(lambda kind=kind, h=h: np_forward(kind, X_np(), h))
for label, error, h, frags in h_cases:
    bad(f"numpy.LSTM.forward(h0 {label})", error, "h0", *frags)(
        lambda h=h: np_forward("LSTM", X_np(), (h, np.zeros((B, H)))))
    bad(f"numpy.LSTM.forward(c0 {label})", error, "c0", *frags)(
        lambda h=h: np_forward("LSTM", X_np(), (np.zeros((B, H)), h)))
bad("numpy.LSTM.forward(state0=(h0, None))", TypeError, "state0", "None for c0")(
    lambda: np_forward("LSTM", X_np(), (np.zeros((B, H)), None)))
bad("numpy.LSTM.forward(state0=(None, c0))", TypeError, "state0", "None for h0")(
    lambda: np_forward("LSTM", X_np(), (None, np.zeros((B, H)))))
bad("numpy.LSTM.forward(state0=h0)", TypeError, "state0", "single ndarray")(
    lambda: np_forward("LSTM", X_np(), np.zeros((B, H))))
bad("numpy.LSTM.forward(state0 of 3)", TypeError, "state0", "length 3")(
    lambda: np_forward("LSTM", X_np(), (np.zeros((B, H)),) * 3))

# ---------------------------------------------------------------- rnnbook.numpy: backward
for kind in KINDS:
    bad(f"numpy.{kind}.backward before forward", ValueError, "backward", "forward")(
        lambda kind=kind: np_layer(kind).backward(np.zeros((T, B, H))))
    for label, dY, frags in [("T=4", np.zeros((4, B, H)), ("(5, 2, 4)", "(4, 2, 4)")),
                             ("B=3", np.zeros((T, 3, H)), ("(5, 2, 4)", "(5, 3, 4)")),
                             ("H=5", np.zeros((T, B, 5)), ("dY", "last axis is 5")),
                             ("2-D", np.zeros((T, H)), ("dY", "(5, 4)")),
                             ("NaN", np.full((T, B, H), np.nan), ("dY", "NaN"))]:
        bad(f"numpy.{kind}.backward(dY {label})", ValueError, "dY", *frags)(lambda kind=kind, dY=dY: np_backward(kind, dY))
    bad(f"numpy.{kind}.backward(dY int64)", TypeError, "dY", "int64")(
        lambda kind=kind: np_backward(kind, np.zeros((T, B, H), dtype=np.int64)))
    bad(f"numpy.{kind}.backward(dY list)", TypeError, "dY", "list")(
        lambda kind=kind: np_backward(kind, np.zeros((T, B, H)).tolist()))
    bad(f"numpy.{kind}.backward(dh_T (1, 4))", ValueError, "dh_T", "(1, 4)")(
        lambda kind=kind: np_backward(kind, dh_T=np.zeros((1, H))))
    bad(f"numpy.{kind}.backward(dh_T inf)", ValueError, "dh_T", "inf")(
        lambda kind=kind: np_backward(kind, dh_T=np.full((B, H), np.inf)))
bad("numpy.LSTM.backward(dc_T (2, 5))", ValueError, "dc_T", "(2, 5)")(lambda: np_backward("LSTM", dc_T=np.zeros((B, 5))))
bad("numpy.LSTM.backward(dc_T NaN)", ValueError, "dc_T", "NaN")(lambda: np_backward("LSTM", dc_T=np.full((B, H), np.nan)))


# ---------------------------------------------------------------- load_state_dict, both backends
def sd_cases(kind):
    G = GATES[kind]
    good = good_state_dict(kind)
    missing = {k: v for k, v in good.items() if k != "bias_hh"}
    nan = {**good, "weight_hh": np.full((G * H, H), np.nan)}
    inf = {**good, "bias_ih": np.full(G * H, -np.inf)}
    shape = {**good, "weight_ih": np.zeros((G * H, D + 1))}
    complex_ = {**good, "weight_ih": good["weight_ih"] + 1j}
    bool_ = {**good, "bias_hh": np.ones(G * H, dtype=bool)}
    text = {**good, "bias_hh": np.array(["a"] * G * H)}
    extra = {**good, "weight_hr": np.zeros((H, H))}
    nn_style = {f"{k}_l{layer}": v for k, v in good.items() for layer in (0, 1)}  # two layers into one
    return [("missing", ValueError, missing, ("state_dict", "bias_hh", "missing")),
            ("unexpected", ValueError, extra, ("state_dict", "weight_hr", "unexpected")),
            ("two layers' torch.nn keys", ValueError, nn_style, ("state_dict", "weight_ih_l1", "from_torch_nn")),
            ("NaN", ValueError, nan, ("weight_hh", "NaN")),
            ("-inf", ValueError, inf, ("bias_ih", "inf")),
            ("shape", ValueError, shape, ("weight_ih", f"({G * H}, {D})", f"({G * H}, {D + 1})")),
            ("complex", TypeError, complex_, ("weight_ih", "complex")),
            ("bool", TypeError, bool_, ("bias_hh", "bool")),
            ("text", TypeError, text, ("bias_hh", "<U1")),
            ("list", TypeError, list(good.items()), ("state_dict", "list"))]


def t_sd(sd):
    return {k: torch.as_tensor(v) for k, v in sd.items()} if isinstance(sd, dict) else sd


for kind in KINDS:
    for label, error, sd, frags in sd_cases(kind):
        bad(f"numpy.{kind}.load_state_dict({label})", error, *frags)(lambda kind=kind, sd=sd: np_layer(kind).load_state_dict(sd))
        bad(f"torch.{kind}.load_state_dict({label})", error, *frags)(
            lambda kind=kind, sd=(sd if label == "text" else t_sd(sd)): t_layer(kind).load_state_dict(sd))
bad("torch.LSTM in a model: load_state_dict(NaN)", ValueError, "weight_hh", "NaN")(
    lambda: SequenceRegressor(t_layer("LSTM")).load_state_dict(
        {**SequenceRegressor(t_layer("LSTM")).state_dict(), "recurrent.weight_hh_l0": torch.full((4 * H, H), float("nan"), dtype=torch.float64)}))

# set_forget_bias
for backend, make in (("numpy", np_layer), ("torch", t_layer)):
    bad(f"{backend}.LSTM.set_forget_bias(nan)", ValueError, "value", "nan")(lambda make=make: make("LSTM").set_forget_bias(float("nan")))
    bad(f"{backend}.LSTM.set_forget_bias(inf)", ValueError, "value", "inf")(lambda make=make: make("LSTM").set_forget_bias(np.inf))
    bad(f"{backend}.LSTM.set_forget_bias('1')", TypeError, "value", "'1'")(lambda make=make: make("LSTM").set_forget_bias("1"))

# ---------------------------------------------------------------- rnnbook.numpy: step functions
P = {kind: good_state_dict(kind) for kind in KINDS}
x1, h1 = np.zeros((B, D)), np.zeros((B, H))
bad("rnn_step_forward(nonlinearity='sigmoid')", ValueError, "nonlinearity", "'sigmoid'")(
    lambda: rn.rnn_step_forward(x1, h1, P["RNN"], "sigmoid"))
bad("rnn_step_forward(x 1-D)", ValueError, "x", "(3,)")(lambda: rn.rnn_step_forward(np.zeros(D), h1, P["RNN"]))
bad("rnn_step_forward(x int64)", TypeError, "x", "int64")(lambda: rn.rnn_step_forward(x1.astype(np.int64), h1, P["RNN"]))
bad("rnn_step_forward(h_prev batch 3)", ValueError, "h_prev", "(3, 4)")(lambda: rn.rnn_step_forward(x1, np.zeros((3, H)), P["RNN"]))
bad("rnn_step_forward(params missing)", ValueError, "params", "weight_hh")(
    lambda: rn.rnn_step_forward(x1, h1, {k: v for k, v in P["RNN"].items() if k != "weight_hh"}))
bad("rnn_step_forward(params shape)", ValueError, "params['weight_ih']", "(4, 3)")(
    lambda: rn.rnn_step_forward(x1, h1, {**P["RNN"], "weight_ih": np.zeros((4, 2))}))
bad("rnn_step_forward(params list)", TypeError, "params", "list")(lambda: rn.rnn_step_forward(x1, h1, list(P["RNN"].values())))
_, rnn_cache = rn.rnn_step_forward(x1, h1, P["RNN"])
bad("rnn_step_backward(nonlinearity='sigmoid')", ValueError, "nonlinearity", "'sigmoid'")(
    lambda: rn.rnn_step_backward(h1, rnn_cache, P["RNN"], "sigmoid"))
bad("rnn_step_backward(dh (1, 4))", ValueError, "dh", "(1, 4)")(lambda: rn.rnn_step_backward(np.zeros((1, H)), rnn_cache, P["RNN"]))
bad("rnn_step_backward(dh (4,))", ValueError, "dh", "(4,)")(lambda: rn.rnn_step_backward(np.zeros(H), rnn_cache, P["RNN"]))
bad("rnn_step_backward(cache list)", TypeError, "cache", "list")(lambda: rn.rnn_step_backward(h1, list(rnn_cache), P["RNN"]))
bad("lstm_step_forward(c_prev None)", TypeError, "c_prev", "NoneType")(lambda: rn.lstm_step_forward(x1, h1, None, P["LSTM"]))
bad("lstm_step_forward(c_prev (2, 5))", ValueError, "c_prev", "(2, 5)")(lambda: rn.lstm_step_forward(x1, h1, np.zeros((B, 5)), P["LSTM"]))
bad("lstm_step_forward(RNN params)", ValueError, "params['weight_ih']", "(16, 3)")(lambda: rn.lstm_step_forward(x1, h1, h1, P["RNN"]))
_, _, lstm_cache = rn.lstm_step_forward(x1, h1, h1, P["LSTM"])
bad("lstm_step_backward(dc (2, 1))", ValueError, "dc", "(2, 1)")(lambda: rn.lstm_step_backward(h1, np.zeros((B, 1)), lstm_cache, P["LSTM"]))
bad("lstm_step_backward(RNN cache)", TypeError, "cache", "length 3")(lambda: rn.lstm_step_backward(h1, h1, rnn_cache, P["LSTM"]))
bad("gru_step_forward(reset_after='no')", TypeError, "reset_after", "'no'")(lambda: rn.gru_step_forward(x1, h1, P["GRU"], "no"))
bad("gru_step_forward(reset_after=None)", TypeError, "reset_after", "None")(lambda: rn.gru_step_forward(x1, h1, P["GRU"], None))
bad("gru_step_forward(h_prev int64)", TypeError, "h_prev", "int64")(lambda: rn.gru_step_forward(x1, h1.astype(np.int64), P["GRU"]))
_, gru_cache = rn.gru_step_forward(x1, h1, P["GRU"])
bad("gru_step_backward(reset_after='no')", TypeError, "reset_after", "'no'")(lambda: rn.gru_step_backward(h1, gru_cache, P["GRU"], "no"))
bad("gru_step_backward(dh (2, 5))", ValueError, "dh", "(2, 5)")(lambda: rn.gru_step_backward(np.zeros((B, 5)), gru_cache, P["GRU"]))

# ---------------------------------------------------------------- rnnbook.torch: constructors and forward
for kind in KINDS:
    cls = getattr(rt, kind)
    bad(f"torch.{kind}(input_size=0)", ValueError, "input_size", "0")(lambda cls=cls: cls(0, H))
    bad(f"torch.{kind}(hidden_size=2.5)", TypeError, "hidden_size", "2.5")(lambda cls=cls: cls(D, 2.5))
    bad(f"torch.{kind}(hidden_size=False)", TypeError, "hidden_size", "bool")(lambda cls=cls: cls(D, False))
    bad(f"torch.{kind}(batch_first='yes')", TypeError, "batch_first", "'yes'")(lambda cls=cls: cls(D, H, batch_first="yes"))
    bad(f"torch.{kind}(dtype=int64)", TypeError, "dtype", "torch.int64")(lambda cls=cls: cls(D, H, dtype=torch.int64))
    bad(f"torch.{kind}(dtype=complex64)", TypeError, "dtype", "torch.complex64")(lambda cls=cls: cls(D, H, dtype=torch.complex64))
bad("torch.RNN(nonlinearity='sigmoid')", ValueError, "nonlinearity", "'sigmoid'")(lambda: rt.RNN(D, H, "sigmoid"))
bad("torch.GRU(reset_after='no')", TypeError, "reset_after", "'no'")(lambda: rt.GRU(D, H, "no"))


def tX(shape=(T, B, D), dtype=torch.float64, **kw):
    return torch.zeros(shape, dtype=dtype, **kw)


tX_cases = [
    ("ndarray", TypeError, X_np(), ("X", "ndarray")),
    ("list", TypeError, [[[0.0] * D] * B] * T, ("X", "list")),
    ("2-D", ValueError, tX((T, D)), ("X", "(5, 3)")),
    ("D=2", ValueError, tX((T, B, 2)), ("X", "last axis is 2")),
    ("T=0", ValueError, tX((0, B, D)), ("X", "(0, 2, 3)")),
    ("B=0", ValueError, tX((T, 0, D)), ("X", "(5, 0, 3)")),
    ("int64", TypeError, tX(dtype=torch.int64), ("X", "torch.int64")),
    ("bool", TypeError, tX(dtype=torch.bool), ("X", "torch.bool")),
    ("complex", TypeError, tX(dtype=torch.complex128), ("X", "torch.complex128")),
    ("float32 into float64", TypeError, tX(dtype=torch.float32), ("X", "torch.float32", "torch.float64")),
    ("on another device", ValueError, tX(device="meta"), ("X", "meta", "cpu")),
]
for kind in KINDS:
    for label, error, X, frags in tX_cases:
        bad(f"torch.{kind}.forward(X {label})", error, *frags)(lambda kind=kind, X=X: t_layer(kind)(X))
th_cases = [
    ("batch 3", ValueError, tX((3, H)), ("(2, 4)", "(3, 4)")),
    ("two layers' states", ValueError, tX((2, B, H)), ("num_layers * num_directions", "(1, 2, 4)", "(2, 2, 4)")),
    ("ndarray", TypeError, np.zeros((B, H)), ("ndarray",)),
    ("float32", TypeError, tX((B, H), dtype=torch.float32), ("torch.float32",)),
    ("int64", TypeError, tX((B, H), dtype=torch.int64), ("torch.int64",)),
]
for kind in ("RNN", "GRU"):
    for label, error, h, frags in th_cases:
        bad(f"torch.{kind}.forward(h0 {label})", error, "h0", *frags)(lambda kind=kind, h=h: t_layer(kind)(tX(), h))
for label, error, h, frags in th_cases:
    bad(f"torch.LSTM.forward(h0 {label})", error, "h0", *frags)(lambda h=h: t_layer("LSTM")(tX(), (h, tX((B, H)))))
    bad(f"torch.LSTM.forward(c0 {label})", error, "c0", *frags)(lambda h=h: t_layer("LSTM")(tX(), (tX((B, H)), h)))
bad("torch.LSTM.forward(state0=(h0, None))", TypeError, "state0", "None for c0")(lambda: t_layer("LSTM")(tX(), (tX((B, H)), None)))
bad("torch.LSTM.forward(state0=h0)", TypeError, "state0", "single Tensor")(lambda: t_layer("LSTM")(tX(), tX((B, H))))
bad("torch.RNN(batch_first).forward(X D=2)", ValueError, "X (time-major view)", "last axis is 2")(
    lambda: rt.RNN(D, H, batch_first=True)(torch.zeros(B, T, 2)))

# ---------------------------------------------------------------- rnnbook.gradcheck
a3 = np.ones(3)
bad("relative_error(complex)", TypeError, "a", "complex")(lambda: relative_error(1 + 5j, 1.0))
bad("relative_error(b complex tensor)", TypeError, "b", "complex")(lambda: relative_error(torch.ones(2), torch.ones(2, dtype=torch.complex64)))
bad("relative_error(shapes)", ValueError, "same shape", "(3,)", "(2,)")(lambda: relative_error(a3, np.ones(2)))
bad("relative_error(empty)", ValueError, "empty", "(0,)")(lambda: relative_error(np.ones(0), np.ones(0)))
bad("relative_error(text)", TypeError, "a", "<U")(lambda: relative_error(np.array(["x"]), np.ones(1)))
bad("relative_error(bool)", TypeError, "b", "bool")(lambda: relative_error(a3, np.ones(3, dtype=bool)))
bad("numerical_gradient(empty x)", ValueError, "x", "(0,)")(lambda: numerical_gradient(lambda: 0.0, np.ones(0)))
bad("numerical_gradient(float32 x)", TypeError, "x", "float32")(lambda: numerical_gradient(lambda: 0.0, a3.astype(np.float32)))
bad("numerical_gradient(list x)", TypeError, "x", "list")(lambda: numerical_gradient(lambda: 0.0, [1.0, 2.0]))
bad("numerical_gradient(eps=0)", ValueError, "eps", "0")(lambda: numerical_gradient(lambda: 0.0, np.ones(3), eps=0))
bad("numerical_gradient(eps='1e-6')", TypeError, "eps", "'1e-6'")(lambda: numerical_gradient(lambda: 0.0, np.ones(3), eps="1e-6"))
bad("numerical_gradient(f not callable)", TypeError, "f", "float")(lambda: numerical_gradient(0.0, np.ones(3)))
bad("numerical_gradient(f returns NaN)", ValueError, "f", "nan")(lambda: numerical_gradient(lambda: float("nan"), np.ones(3)))
bad("numerical_gradient(x NaN)", ValueError, "x", "NaN")(lambda: numerical_gradient(lambda: 0.0, np.full(3, np.nan)))
bad("numerical_gradient(indices out of range)", ValueError, "indices", "[0, 3)", "7")(
    lambda: numerical_gradient(lambda: 0.0, np.ones(3), indices=np.array([0, 7])))
bad("numerical_gradient(indices float)", TypeError, "indices", "float64")(
    lambda: numerical_gradient(lambda: 0.0, np.ones(3), indices=np.array([0.5])))
bad("check_gradients(no analytic)", ValueError, "analytic", "'x'")(lambda: check_gradients(lambda: 0.0, {"x": np.ones(3)}, {}))
bad("check_gradients(analytic shape)", ValueError, "analytic['x']", "(2,)", "(3,)")(
    lambda: check_gradients(lambda: 0.0, {"x": np.ones(3)}, {"x": np.ones(2)}))
bad("check_gradients(analytic complex)", TypeError, "analytic['x']", "complex")(
    lambda: check_gradients(lambda: 0.0, {"x": np.ones(3)}, {"x": np.ones(3) * 1j}))
bad("check_gradients(max_entries=0)", ValueError, "max_entries", "0")(
    lambda: check_gradients(lambda: 0.0, {"x": np.ones(3)}, {"x": np.ones(3)}, max_entries=0))
bad("check_gradients(arrays list)", TypeError, "arrays", "list")(lambda: check_gradients(lambda: 0.0, [np.ones(3)], {}))
bad("check_gradients(arrays empty)", ValueError, "arrays", "empty")(lambda: check_gradients(lambda: 0.0, {}, {}))
bad("check_gradients(rng=0)", TypeError, "rng", "int")(
    lambda: check_gradients(lambda: 0.0, {"x": np.ones(3)}, {"x": np.ones(3)}, rng=0))
bad("error_bound(-1)", ValueError, "err", "-1")(lambda: error_bound(-1.0))
bad("error_bound(nan)", ValueError, "err", "nan")(lambda: error_bound(float("nan")))
bad("error_bound('1e-9')", TypeError, "err", "'1e-9'")(lambda: error_bound("1e-9"))


# ---------------------------------------------------------------- rnnbook.tbptt
def tbptt(X=None, targets=None, k1=2, k2=None, loss_fn=None, layer=None):
    torch.manual_seed(0)
    layer = rt.RNN(D, H, dtype=torch.float64) if layer is None else layer
    head = torch.nn.Linear(H, 1, dtype=torch.float64)
    X = tX() if X is None else X
    targets = torch.zeros(T, B, 1, dtype=torch.float64) if targets is None else targets
    loss_fn = (lambda p, y: ((p - y) ** 2).sum()) if loss_fn is None else loss_fn
    return truncated_bptt(layer, head, X, targets, loss_fn, k1, k2)


bad("truncated_bptt(X list)", TypeError, "X", "list")(lambda: tbptt(X=tX().tolist()))
bad("truncated_bptt(targets ndarray)", TypeError, "targets", "ndarray")(lambda: tbptt(targets=np.zeros((T, B, 1))))
bad("truncated_bptt(empty sequence)", ValueError, "X", "(0, 2, 3)")(lambda: tbptt(X=tX((0, B, D)), targets=torch.zeros(0, B, 1)))
bad("truncated_bptt(targets T=4)", ValueError, "targets", "T=5", "(4, 2, 1)")(lambda: tbptt(targets=torch.zeros(4, B, 1)))
bad("truncated_bptt(X 1-D)", ValueError, "X", "(5,)")(lambda: tbptt(X=torch.zeros(T)))
bad("truncated_bptt(k1=0)", ValueError, "k1", "0")(lambda: tbptt(k1=0))
bad("truncated_bptt(k1=2.0)", TypeError, "k1", "2.0")(lambda: tbptt(k1=2.0))
bad("truncated_bptt(k1=True)", TypeError, "k1", "bool")(lambda: tbptt(k1=True))
bad("truncated_bptt(k2=3)", ValueError, "k2", "3", "k1=2")(lambda: tbptt(k2=3))
bad("truncated_bptt(k2='4')", TypeError, "k2", "'4'")(lambda: tbptt(k2="4"))
bad("truncated_bptt(loss_fn None)", TypeError, "loss_fn", "None")(lambda: truncated_bptt(rt.RNN(D, H), torch.nn.Linear(H, 1), torch.zeros(T, B, D), torch.zeros(T, B, 1), None, 2))
bad("truncated_bptt(layer ndarray)", TypeError, "layer", "ndarray")(lambda: tbptt(layer=np.zeros(3)))

# ---------------------------------------------------------------- both clip modules
G_ok = {"w": np.ones((2, 3))}
for fn, arg in ((clip_grad_norm, "max_norm"), (clip_grad_value, "clip_value")):
    bad(f"numpy {fn.__name__}({arg}='1')", TypeError, arg, "'1'")(lambda fn=fn: fn(G_ok, "1"))
    bad(f"numpy {fn.__name__}({arg}=0)", ValueError, arg, "0")(lambda fn=fn: fn(G_ok, 0))
    bad(f"numpy {fn.__name__}({arg}=nan)", ValueError, arg, "nan")(lambda fn=fn: fn(G_ok, float("nan")))
    bad(f"numpy {fn.__name__}({arg}=inf)", ValueError, arg, "inf")(lambda fn=fn: fn(G_ok, float("inf")))
    bad(f"numpy {fn.__name__}({arg}=None)", TypeError, arg, "None")(lambda fn=fn: fn(G_ok, None))
    bad(f"numpy {fn.__name__}(NaN gradient)", ValueError, "grads['v']", "NaN")(
        lambda fn=fn: fn({"w": np.ones(2), "v": np.array([1.0, np.nan])}, 1.0))
    bad(f"numpy {fn.__name__}(inf gradient)", ValueError, "grads['w']", "inf")(lambda fn=fn: fn({"w": np.array([np.inf])}, 1.0))
    bad(f"numpy {fn.__name__}(grads list)", TypeError, "grads", "list")(lambda fn=fn: fn([np.ones(2)], 1.0))
    bad(f"numpy {fn.__name__}(int gradient)", TypeError, "grads['w']", "int64")(lambda fn=fn: fn({"w": np.ones(2, dtype=np.int64)}, 1.0))


def params_with_grad(*grads):
    ps = []
    for g in grads:
        p = torch.nn.Parameter(torch.ones_like(g))
        p.grad = g.clone()
        ps.append(p)
    return ps


for fn, arg in ((clip_grad_norm_, "max_norm"), (clip_grad_value_, "clip_value")):
    bad(f"torch {fn.__name__}({arg}='1')", TypeError, arg, "'1'")(lambda fn=fn: fn(params_with_grad(torch.ones(2)), "1"))
    bad(f"torch {fn.__name__}({arg}=-1)", ValueError, arg, "-1")(lambda fn=fn: fn(params_with_grad(torch.ones(2)), -1))
    bad(f"torch {fn.__name__}({arg}=nan)", ValueError, arg, "nan")(lambda fn=fn: fn(params_with_grad(torch.ones(2)), float("nan")))
    bad(f"torch {fn.__name__}(inf gradient)", ValueError, "parameters[1].grad", "inf")(
        lambda fn=fn: fn(params_with_grad(torch.ones(2), torch.tensor([1.0, float("inf")])), 1.0))
    bad(f"torch {fn.__name__}(NaN gradient)", ValueError, "parameters[0].grad", "NaN")(
        lambda fn=fn: fn(params_with_grad(torch.tensor([float("nan")])), 1.0))
    bad(f"torch {fn.__name__}(parameters=3)", TypeError, "parameters", "int")(lambda fn=fn: fn(3, 1.0))
    bad(f"torch {fn.__name__}(parameters of arrays)", TypeError, "parameters[0]", "ndarray")(lambda fn=fn: fn([np.ones(2)], 1.0))

# ---------------------------------------------------------------- rnnbook.train
for kwargs, error, frags in [
    ({"steps": 0}, ValueError, ("steps", "0")), ({"steps": 2.5}, TypeError, ("steps", "2.5")),
    ({"steps": True}, TypeError, ("steps", "bool")), ({"lr": "0.1"}, TypeError, ("lr", "'0.1'")),
    ({"lr": 0.0}, ValueError, ("lr", "0.0")), ({"lr": float("nan")}, ValueError, ("lr", "nan")),
    ({"lr": float("inf")}, ValueError, ("lr", "inf")), ({"optimizer": "rmsprop"}, ValueError, ("optimizer", "'rmsprop'")),
    ({"optimizer": None}, ValueError, ("optimizer", "None")), ({"max_norm": 0.0}, ValueError, ("max_norm", "0.0")),
    ({"max_norm": "1"}, TypeError, ("max_norm", "'1'")), ({"seed": None}, TypeError, ("seed", "None")),
    ({"seed": -1}, ValueError, ("seed", "-1")), ({"seed": 1.5}, TypeError, ("seed", "1.5")),
]:
    bad(f"TrainConfig({kwargs})", error, *frags)(lambda kwargs=kwargs: TrainConfig(**kwargs))


class NoParams(torch.nn.Module):
    hidden_size = 4

    def forward(self, X):
        return X, None


def sum_task(rng, y_shape=(B, 1)):
    X = rng.normal(size=(T, B, 1)).astype(np.float32)
    return X, X.sum(axis=0).reshape(y_shape)


def model():
    torch.manual_seed(0)
    return SequenceRegressor(rt.RNN(1, H))


bad("SequenceRegressor(numpy layer)", TypeError, "recurrent", "rnnbook.torch.RNN")(lambda: SequenceRegressor(rn.RNN(1, H)))
bad("SequenceRegressor(batch_first layer)", ValueError, "recurrent", "batch_first")(lambda: SequenceRegressor(rt.RNN(1, H, batch_first=True)))
bad("SequenceRegressor(no hidden_size)", TypeError, "recurrent", "hidden_size")(lambda: SequenceRegressor(torch.nn.Linear(1, H)))
bad("SequenceRegressor(no parameters)", ValueError, "recurrent", "parameters")(lambda: SequenceRegressor(NoParams()))
bad("SequenceRegressor(out_features=0)", ValueError, "out_features", "0")(lambda: SequenceRegressor(rt.RNN(1, H), 0))
bad("train_regressor(targets (B,) for (B, 1))", ValueError, "targets", "(2, 1)", "(2,)")(
    lambda: train_regressor(model(), lambda rng: sum_task(rng, (B,)), TrainConfig(steps=2)))
bad("train_regressor(model without parameters)", ValueError, "model", "parameters")(
    lambda: train_regressor(NoParams(), sum_task, TrainConfig(steps=2)))
bad("train_regressor(numpy layer)", TypeError, "model", "RNN")(lambda: train_regressor(rn.RNN(1, H), sum_task, TrainConfig(steps=2)))
bad("train_regressor(make_batch not callable)", TypeError, "make_batch", "tuple")(
    lambda: train_regressor(model(), sum_task(np.random.default_rng(0)), TrainConfig(steps=2)))
bad("train_regressor(config dict)", TypeError, "config", "dict")(lambda: train_regressor(model(), sum_task, {"steps": 2}))
bad("train_regressor(make_batch returns X only)", TypeError, "make_batch", "ndarray")(
    lambda: train_regressor(model(), lambda rng: sum_task(rng)[0], TrainConfig(steps=2)))
bad("train_regressor(complex X)", TypeError, "X", "complex")(
    lambda: train_regressor(model(), lambda rng: (sum_task(rng)[0] + 0j, sum_task(rng)[1]), TrainConfig(steps=2)))

# ---------------------------------------------------------------- rnnbook.data, seed, device, state
rng0 = np.random.default_rng(0)
for size_arg, args in (("batch_size", lambda v: (v, 10)), ("T", lambda v: (4, v))):
    for value, error, frag in ((0, ValueError, "0"), (-1, ValueError, "-1"), (2.5, TypeError, "2.5"), (True, TypeError, "bool")):
        bad(f"adding_problem({size_arg}={value!r})", error, size_arg, frag)(lambda args=args, value=value: adding_problem(*args(value), rng0))
        bad(f"delayed_echo({size_arg}={value!r})", error, size_arg, frag)(lambda args=args, value=value: delayed_echo(*args(value), 0, rng0))
bad("adding_problem(T=1)", ValueError, "T", "1")(lambda: adding_problem(4, 1, rng0))
bad("adding_problem(rng=0)", TypeError, "rng", "int")(lambda: adding_problem(4, 10, 0))
bad("adding_problem(dtype=int64)", TypeError, "dtype", "int64")(lambda: adding_problem(4, 10, rng0, dtype=np.int64))
bad("delayed_echo(delay=T)", ValueError, "delay", "10")(lambda: delayed_echo(4, 10, 10, rng0))
bad("delayed_echo(delay=-1)", ValueError, "delay", "-1")(lambda: delayed_echo(4, 10, -1, rng0))
bad("delayed_echo(delay=2.0)", TypeError, "delay", "2.0")(lambda: delayed_echo(4, 10, 2.0, rng0))
bad("delayed_echo(rng=None)", TypeError, "rng", "None")(lambda: delayed_echo(4, 10, 2, None))
bad("delayed_echo(dtype=complex)", TypeError, "dtype", "complex")(lambda: delayed_echo(4, 10, 2, rng0, dtype=np.complex64))
for value, error, frag in ((-1, ValueError, "-1"), (1.5, TypeError, "1.5"), (True, TypeError, "bool"),
                           ("0", TypeError, "'0'"), (None, TypeError, "None"), (np.float64(3.0), TypeError, "3.0")):
    bad(f"seed_everything({value!r})", error, "seed", frag)(lambda value=value: seed_everything(value))
bad("get_device('tpu')", ValueError, "prefer", "'tpu'")(lambda: device_mod.get_device("tpu"))
bad("get_device(0)", ValueError, "prefer", "0")(lambda: device_mod.get_device(0))
nn_sd = torch.nn.RNN(D, H).state_dict()
bad("from_torch_nn(reverse of one direction)", ValueError, "state_dict", "'weight_ih_l0_reverse'")(
    lambda: from_torch_nn(torch.nn.RNN(D, H).state_dict(), reverse=True))
bad("from_torch_nn(reverse='yes')", TypeError, "reverse", "'yes'")(lambda: from_torch_nn(nn_sd, reverse="yes"))
bad("from_torch_nn(layer=1 of 1)", ValueError, "state_dict", "'weight_ih_l1'")(lambda: from_torch_nn(nn_sd, layer=1))
bad("from_torch_nn(layer=-1)", ValueError, "layer", "-1")(lambda: from_torch_nn(nn_sd, layer=-1))
bad("from_torch_nn(layer='0')", TypeError, "layer", "'0'")(lambda: from_torch_nn(nn_sd, layer="0"))
bad("from_torch_nn(list)", TypeError, "state_dict", "list")(lambda: from_torch_nn(list(nn_sd.items())))
bad("from_torch_nn(NaN value)", ValueError, "weight_hh_l0", "NaN")(
    lambda: from_torch_nn({**nn_sd, "weight_hh_l0": torch.full((H, H), float("nan"))}))
bad("from_torch_nn(complex value)", TypeError, "weight_ih_l0", "complex")(
    lambda: from_torch_nn({**nn_sd, "weight_ih_l0": torch.zeros(H, D, dtype=torch.complex64)}))
bad("to_torch_nn(missing)", ValueError, "params", "bias_hh")(lambda: to_torch_nn({"weight_ih": 0, "weight_hh": 0, "bias_ih": 0}))
bad("to_torch_nn(inf value)", ValueError, "params['bias_ih']", "inf")(
    lambda: to_torch_nn({**P["RNN"], "bias_ih": np.full(H, np.inf)}))
bad("to_torch_nn(layer=True)", TypeError, "layer", "bool")(lambda: to_torch_nn(P["RNN"], layer=True))


def test_the_table_is_large():
    """Well over 150 cases, each with a distinct id."""
    assert len(CASES) > 150
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_raises_a_clear_error(case: Case):
    """The error's type, and a message naming the argument and what was given; no warning first."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(case.error) as info:
            case.call()
    message = str(info.value)
    for fragment in case.fragments:
        assert fragment in message, f"{fragment!r} is not in the message {message!r}"


# ---------------------------------------------------------------- valid edge cases keep working
def roundtrip_np(kind, T_, B_, D_, H_, dtype=np.float64):
    layer = getattr(rn, kind)(D_, H_, rng=np.random.default_rng(0), dtype=dtype)
    Y, _ = layer.forward(np.full((T_, B_, D_), 0.3, dtype=dtype))
    grads = layer.backward(np.ones_like(Y))
    assert Y.shape == (int(T_), int(B_), int(H_)) and Y.dtype == dtype and np.isfinite(grads["weight_hh"]).all()


def roundtrip_torch(kind, T_, B_, D_, H_, dtype=torch.float64):
    layer = getattr(rt, kind)(D_, H_, dtype=dtype)
    Y, _ = layer(torch.full((T_, B_, D_), 0.3, dtype=dtype))
    Y.sum().backward()
    assert tuple(Y.shape) == (T_, B_, H_) and torch.isfinite(layer.weight_hh.grad).all()


GOOD = []
for kind in KINDS:
    GOOD += [(f"numpy.{kind} T=B=D=H=1", lambda kind=kind: roundtrip_np(kind, 1, 1, 1, 1)),
             (f"numpy.{kind} numpy int sizes", lambda kind=kind: roundtrip_np(kind, 2, np.int64(2), np.int32(3), np.int64(4))),
             (f"numpy.{kind} float32", lambda kind=kind: roundtrip_np(kind, 3, 2, 2, 3, np.float32)),
             (f"torch.{kind} T=B=D=H=1", lambda kind=kind: roundtrip_torch(kind, 1, 1, 1, 1)),
             (f"torch.{kind} numpy int sizes", lambda kind=kind: roundtrip_torch(kind, 2, 2, np.int64(3), np.int64(4))),
             (f"torch.{kind} float32", lambda kind=kind: roundtrip_torch(kind, 3, 2, 2, 3, torch.float32))]
GOOD += [
    ("seed_everything(np.int64(3))", lambda: seed_everything(np.int64(3))),
    ("TrainConfig(seed=np.int64(2), steps=np.int64(3))", lambda: TrainConfig(seed=np.int64(2), steps=np.int64(3))),
    ("adding_problem(np.int64 sizes, T=2)", lambda: adding_problem(np.int64(1), np.int64(2), np.random.default_rng(0))),
    ("delayed_echo(delay=0, T=1)", lambda: delayed_echo(1, 1, 0, np.random.default_rng(0))),
    ("relative_error(equal)", lambda: relative_error(np.ones(3), torch.ones(3))),
    ("relative_error(int arrays)", lambda: relative_error(np.arange(3), np.arange(3))),
    ("numpy load_state_dict(float32 tensors)", lambda: rn.LSTM(D, H).load_state_dict(
        {k: v.float() for k, v in from_torch_nn(torch.nn.LSTM(D, H).state_dict()).items()})),
    ("torch load_state_dict(numpy arrays)", lambda: rt.GRU(D, H, dtype=torch.float64).load_state_dict(good_state_dict("GRU"))),
    ("torch load_state_dict(strict=False, partial)", lambda: rt.RNN(D, H).load_state_dict({"bias_hh": torch.zeros(H)}, strict=False)),
    ("truncated_bptt(T=1, k1=1)", lambda: tbptt(X=tX((1, B, D)), targets=torch.zeros(1, B, 1, dtype=torch.float64), k1=1)),
    ("clip_grad_norm(float32)", lambda: clip_grad_norm({"w": np.ones(2, dtype=np.float32)}, 1.0)),
    ("clip_grad_norm_(no gradients)", lambda: clip_grad_norm_([torch.nn.Parameter(torch.ones(2))], 1.0)),
    ("LSTM.set_forget_bias(np.float32(1))", lambda: np_layer("LSTM").set_forget_bias(np.float32(1.0))),
    ("train_regressor(B=1)", lambda: train_regressor(model(), lambda rng: (np.ones((T, 1, 1), np.float32), np.ones((1, 1), np.float32)), TrainConfig(steps=2))),
]


@pytest.mark.parametrize("call", [c for _, c in GOOD], ids=[i for i, _ in GOOD])
def test_valid_edge_cases_keep_working(call):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        call()
