"""Property-based parity (issue 9): for random sizes, NumPy layer = our torch layer = torch.nn.

Hypothesis draws the sizes T, B, D, H (1 included, where shape bugs hide), whether an initial
state is given, whether the loss also has terms on the final states, and a seed for the weights
(``torch.nn``'s initialisation) and the data (standard normal). Every run computes, in float64,
the outputs, the final states and the gradients of every parameter, of ``X`` and of the initial
states for the loss L = sum(Y * dY) [+ sum(h_T * dh_T) (+ sum(c_T * dc_T))], and requires:

- the NumPy layer (hand-written backward) to equal ``torch.nn`` (its own recurrent kernels and
  their backward) in every tensor, and our torch layer (autograd over our forward) to equal it too;
- for the GRU of Cho et al. (``reset_after=False``), which ``torch.nn`` lacks, the NumPy layer to
  equal autograd through our torch layer.

The profile (tests/conftest.py) sets the number of examples: 25 per property by default,
``HYPOTHESIS_PROFILE=thorough`` for 500. The largest relative error seen per layer is printed in
pytest's summary.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

import rnnbook.numpy
import rnnbook.torch
from rnnbook.state import PARAM_NAMES, to_torch_nn
from tests.conftest import rel

TOL = 1e-10  # float64: the same arithmetic in a different order
LAYERS = ("RNN tanh", "RNN relu", "LSTM", "GRU reset_after", "GRU reset_before")
# For pytest's summary (tests/conftest.py): examples run and largest relative error, per layer.
WORST: dict[str, list[float]] = {}

cases = st.fixed_dictionaries({
    "T": st.integers(1, 10), "B": st.integers(1, 4), "D": st.integers(1, 6), "H": st.integers(1, 6),
    "with_state0": st.booleans(), "with_final_grads": st.booleans(), "seed": st.integers(0, 2**32 - 1),
})


def numpy_layer(kind: str, D: int, H: int, rng: np.random.Generator):
    """The NumPy layer of ``kind`` with weights drawn like ``torch.nn``'s."""
    if kind.startswith("RNN"):
        return rnnbook.numpy.RNN(D, H, kind.split()[1], rng=rng)
    if kind == "LSTM":
        return rnnbook.numpy.LSTM(D, H, rng=rng)
    return rnnbook.numpy.GRU(D, H, reset_after=kind == "GRU reset_after", rng=rng)


def torch_layers(kind: str, weights: dict[str, np.ndarray]) -> tuple[torch.nn.Module, torch.nn.Module | None]:
    """Our torch layer and the ``torch.nn`` one (None where torch.nn lacks the form), same weights."""
    D, H = weights["weight_ih"].shape[1], weights["weight_hh"].shape[1]
    f64 = {"dtype": torch.float64}
    if kind.startswith("RNN"):
        ours, ref = rnnbook.torch.RNN(D, H, kind.split()[1], **f64), torch.nn.RNN(D, H, nonlinearity=kind.split()[1], **f64)
    elif kind == "LSTM":
        ours, ref = rnnbook.torch.LSTM(D, H, **f64), torch.nn.LSTM(D, H, **f64)
    else:
        ours = rnnbook.torch.GRU(D, H, reset_after=kind == "GRU reset_after", **f64)
        ref = torch.nn.GRU(D, H, **f64) if kind == "GRU reset_after" else None
    tensors = {k: torch.from_numpy(v) for k, v in weights.items()}
    ours.load_state_dict(tensors)
    if ref is not None:
        ref.load_state_dict(to_torch_nn(tensors))
    return ours, ref


def make_data(kind: str, T: int, B: int, D: int, H: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    d = {"X": rng.standard_normal((T, B, D)), "dY": rng.standard_normal((T, B, H))}
    for name in ("h0", "dh_T") + (("c0", "dc_T") if kind == "LSTM" else ()):
        d[name] = rng.standard_normal((B, H))
    return d


def run_numpy(layer, kind: str, d: dict[str, np.ndarray], with_state0: bool, with_final_grads: bool
              ) -> dict[str, np.ndarray]:
    """Outputs, final states and the hand-written gradients (of h0, c0 even when they are zeros)."""
    lstm = kind == "LSTM"
    state0 = ((d["h0"], d["c0"]) if lstm else d["h0"]) if with_state0 else None
    Y, state = layer.forward(d["X"], state0)
    final = ((d["dh_T"], d["dc_T"]) if lstm else (d["dh_T"],)) if with_final_grads else ()
    grads = layer.backward(d["dY"], *final)
    h_T, c_T = state if lstm else (state, None)
    return {"Y": Y, "h_T": h_T, **({"c_T": c_T} if lstm else {}), **grads}


def run_torch(module: torch.nn.Module, kind: str, d: dict[str, np.ndarray], with_state0: bool,
              with_final_grads: bool, nn_style: bool) -> dict[str, np.ndarray]:
    """The same quantities by autograd. ``torch.nn`` modules (``nn_style``) always get an explicit
    initial state, zeros without ``with_state0``, so that their h0 (c0) gradients exist; our layer gets
    ``None`` then, as a caller would pass it."""
    lstm = kind == "LSTM"
    X = torch.tensor(d["X"], requires_grad=True)
    zero = not with_state0
    s0 = {k: torch.tensor(np.zeros_like(d[k]) if zero else d[k], requires_grad=True)
          for k in (("h0", "c0") if lstm else ("h0",))}
    if nn_style:
        Y, state = module(X, (s0["h0"][None], s0["c0"][None]) if lstm else s0["h0"][None])
    else:
        Y, state = module(X, None if zero else ((s0["h0"], s0["c0"]) if lstm else s0["h0"]))
    state = tuple(s[0] for s in state) if lstm else state[0]  # both return torch.nn's (1, B, H)
    finals = {"h_T": state[0], "c_T": state[1]} if lstm else {"h_T": state}
    loss = (Y * torch.tensor(d["dY"])).sum()
    if with_final_grads:
        loss = loss + sum((s * torch.tensor(d["d" + k])).sum() for k, s in finals.items())
    loss.backward()
    grads = {n: p.grad for n, p in module.named_parameters()}
    out = {"Y": Y, **finals, **{n.removesuffix("_l0"): grads[n] for n in grads}, "X": X.grad}
    if nn_style or not zero:
        out.update({k: s.grad for k, s in s0.items()})
    return {k: v.detach().numpy() for k, v in out.items()}


def compare(kind: str, ours: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> None:
    """Every tensor the two share equals to TOL (all but the gradients of an initial state that one
    of them was not given); the worst error goes to WORST."""
    shared = set(ours) & set(reference)
    assert set(ours) ^ set(reference) <= {"h0", "c0"}, sorted(set(ours) ^ set(reference))
    errors = {k: rel(ours[k], reference[k]) for k in shared}
    stats = WORST.setdefault(kind, [0, 0.0])
    stats[1] = max(stats[1], *errors.values())
    bad = {k: e for k, e in errors.items() if not e < TOL}
    assert not bad, f"{kind}: relative errors above {TOL}: {bad}"


def check_parity(kind: str, case: dict) -> None:
    T, B, D, H = case["T"], case["B"], case["D"], case["H"]
    flags = case["with_state0"], case["with_final_grads"]
    rng = np.random.default_rng(case["seed"])
    layer = numpy_layer(kind, D, H, rng)
    d = make_data(kind, T, B, D, H, rng)
    ours_t, ref = torch_layers(kind, layer.state_dict())
    from_numpy = run_numpy(layer, kind, d, *flags)
    from_ours = run_torch(ours_t, kind, d, *flags, nn_style=False)
    expected = {"Y", "h_T", *PARAM_NAMES, "X", "h0"} | ({"c_T", "c0"} if kind == "LSTM" else set())
    assert set(from_numpy) == expected
    WORST.setdefault(kind, [0, 0.0])[0] += 1
    if ref is None:  # GRU reset_before: the NumPy layer against autograd through ours
        compare(kind, from_numpy, from_ours)
    else:
        from_nn = run_torch(ref, kind, d, *flags, nn_style=True)
        compare(kind, from_numpy, from_nn)
        compare(kind, from_ours, from_nn)


@given(cases)
def test_rnn_tanh_parity(case):
    """Eq. rnn-recurrence and its backward (chapters 1-2), tanh: NumPy = ours = torch.nn.RNN."""
    check_parity("RNN tanh", case)


@given(cases)
def test_rnn_relu_parity(case):
    """Eq. rnn-recurrence and its backward (chapters 1-2), relu: NumPy = ours = torch.nn.RNN."""
    check_parity("RNN relu", case)


@given(cases)
def test_lstm_parity(case):
    """Eqs. lstm-i to lstm-h and their backward (chapter 3): NumPy = ours = torch.nn.LSTM."""
    check_parity("LSTM", case)


@given(cases)
def test_gru_reset_after_parity(case):
    """Chapter 4's GRU in torch.nn's form: NumPy = ours = torch.nn.GRU."""
    check_parity("GRU reset_after", case)


@given(cases)
def test_gru_reset_before_parity(case):
    """Chapter 4's GRU of Cho et al. (reset before the product): NumPy = autograd through ours."""
    check_parity("GRU reset_before", case)
