"""The optimisation ladder (rnnbook.torch.ladder): every rung computes torch.nn.LSTM / torch.nn.GRU.

Each rung is loaded with a ``torch.nn`` state dict as it is and run in float64 on the CPU, from
nonzero initial states, with a loss that weights the outputs and the final states with random
numbers; outputs, final states and the gradients of the inputs, the initial states and every
parameter must agree with ``torch.nn`` to a relative error below 1e-10 (``rel``: max|ours - ref| /
max|ref|). The hand-written backward (chapters 3 and 4 in torch) is also checked against finite
differences by ``torch.autograd.gradcheck``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rnnbook.torch import kernels
from rnnbook.torch.kernels import EAGER, GRUFunction, LSTMFunction
from rnnbook.torch.ladder import RUNGS, LadderGRU, LadderLSTM, rung_problem
from tests.conftest import rel

TOL = 1e-10  # float64: the same arithmetic in another order
LAYERS = {"LSTM": (torch.nn.LSTM, LadderLSTM), "GRU": (torch.nn.GRU, LadderGRU)}
CPU_RUNGS = [impl for impl in RUNGS if impl not in ("graphed", "triton")]  # triton: in its interpreter, below
ROOT = Path(__file__).resolve().parents[1]
SIZES = [(1, 3, 4, 5), (2, 1, 3, 2), (9, 4, 5, 3)]  # (T, B, D, H): T = 1, B = 1, D != H both ways


def run(layer: torch.nn.Module, cell: str, X: torch.Tensor, states: list[torch.Tensor],
        weights: list[torch.Tensor], nn_states: bool) -> tuple[list[torch.Tensor], dict[str, torch.Tensor]]:
    """Outputs and gradients of L = sum(Y * wY) + sum(h_T * wh) [+ sum(c_T * wc)].

    ``nn_states``: the states carry torch.nn's layer axis (1, B, H)."""
    layer.zero_grad()
    X = X.clone().requires_grad_()
    s0 = [s.clone().requires_grad_() for s in states]
    arg = [s[None] for s in s0] if nn_states else s0
    Y, final = layer(X, tuple(arg) if cell == "LSTM" else arg[0])
    finals = list(final) if cell == "LSTM" else [final]
    finals = [f[0] for f in finals] if nn_states else finals
    loss = sum((out * w).sum() for out, w in zip([Y, *finals], weights))
    loss.backward()
    grads = {name: p.grad for name, p in layer.named_parameters()}
    grads.update(X=X.grad, **{f"s0[{k}]": s.grad for k, s in enumerate(s0)})
    return [Y, *finals], grads


def parity(cell: str, impl: str, T: int, B: int, D: int, H: int, device: str = "cpu") -> float:
    """The largest relative error of rung ``impl`` against torch.nn over outputs and gradients."""
    torch.manual_seed(T * 100 + B * 10 + H)
    nn_cls, ladder_cls = LAYERS[cell]
    ref = nn_cls(D, H, dtype=torch.float64, device=device)
    ours = ladder_cls(D, H, impl=impl, dtype=torch.float64, device=device)
    ours.load_state_dict(ref.state_dict())  # torch.nn's names, as they are
    n_states = 2 if cell == "LSTM" else 1
    X = torch.randn(T, B, D, dtype=torch.float64, device=device)
    states = [torch.randn(B, H, dtype=torch.float64, device=device) for _ in range(n_states)]
    weights = [torch.randn(T, B, H, dtype=torch.float64, device=device)]
    weights += [torch.randn(B, H, dtype=torch.float64, device=device) for _ in range(n_states)]
    outs_ref, grads_ref = run(ref, cell, X, states, weights, nn_states=True)
    outs, grads = run(ours, cell, X, states, weights, nn_states=True)  # states as torch.nn's, (1, B, H)
    assert set(grads) == set(grads_ref)
    return max([rel(a, b) for a, b in zip(outs, outs_ref)] + [rel(grads[k], grads_ref[k]) for k in grads_ref])


@pytest.mark.parametrize("size", SIZES, ids=lambda s: "T{}_B{}_D{}_H{}".format(*s))
@pytest.mark.parametrize("impl", [i for i in CPU_RUNGS if i != "fused"])
@pytest.mark.parametrize("cell", LAYERS)
def test_rung_equals_torch_nn(cell: str, impl: str, size: tuple[int, int, int, int]) -> None:
    """Rungs 1-3 (naive, premul, handwritten): outputs, final states and all gradients as torch.nn."""
    assert parity(cell, impl, *size) < TOL


@pytest.mark.slow
@pytest.mark.parametrize("T", [1, 6])
@pytest.mark.parametrize("cell", LAYERS)
def test_fused_equals_torch_nn(cell: str, T: int) -> None:
    """Rung 4 (fused): the compiled cells (or, where torch.compile cannot run, the eager ones with a
    warning) give torch.nn's outputs and gradients. The cells see (B, H) only, so T=1 and T=6 share
    one compilation."""
    if kernels.compile_problem("cpu") is not None:
        with pytest.warns(RuntimeWarning, match="falls back"):
            assert parity(cell, "fused", T, 3, 4, 5) < TOL
    else:
        assert parity(cell, "fused", T, 3, 4, 5) < TOL


def test_fused_falls_back_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where torch.compile cannot run, rung 4 says why (a RuntimeWarning) and runs rung 3's cells."""
    monkeypatch.setattr(kernels, "compile_problem", lambda device_type: "no C++ compiler (simulated)")
    with pytest.warns(RuntimeWarning, match=r"impl='fused' falls back .*no C\+\+ compiler \(simulated\)"):
        cells = kernels.fused_cells(torch.device("cpu"))
    assert cells is EAGER
    with pytest.warns(RuntimeWarning, match="falls back"):
        assert parity("GRU", "fused", 3, 2, 3, 4) < TOL


@pytest.mark.skipif(not torch.cuda.is_available(), reason="rung 'graphed' captures CUDA graphs: needs a CUDA GPU")
@pytest.mark.parametrize("cell", LAYERS)
def test_graphed_equals_torch_nn_on_cuda(cell: str) -> None:
    """Rung 5 (graphed) on a GPU, float64: as torch.nn, and a second call with new data (a replay of
    the captured graphs) is right too and leaves the first call's outputs untouched."""
    assert parity(cell, "graphed", 5, 3, 4, 6, device="cuda") < TOL
    torch.manual_seed(0)
    layer = LAYERS[cell][1](4, 6, impl="graphed", dtype=torch.float64, device="cuda")
    plain = LAYERS[cell][1](4, 6, impl="handwritten", dtype=torch.float64, device="cuda")
    plain.load_state_dict(layer.state_dict())
    X1, X2 = (torch.randn(5, 3, 4, dtype=torch.float64, device="cuda") for _ in range(2))
    Y1, _ = layer(X1)
    Y1_copy = Y1.clone()
    Y2, _ = layer(X2)
    assert rel(Y1, Y1_copy) == 0 and rel(Y2, plain(X2)[0]) < TOL


def test_triton_says_what_it_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rung 'triton' on CPU tensors outside Triton's interpreter (or without Triton) says why it cannot run."""
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(RuntimeError, match=r"impl='triton' cannot run here: Triton (is not installed|kernels need a "
                                           r"CUDA device, or TRITON_INTERPRET=1)"):
        LadderGRU(3, 4, impl="triton")(torch.zeros(2, 2, 3))


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("triton") is None,
                    reason="Triton is not installed (not a dependency of rnnbook; CUDA builds of torch include it)")
def test_triton_cells_in_the_interpreter() -> None:
    """Rung 'triton' (hand-written Triton kernels) equals torch.nn, run on the CPU by Triton's interpreter.

    In a fresh process with TRITON_INTERPRET=1, which Triton reads when it defines a kernel (so that
    this setting reaches no other test). H=100 with B=3 spans two programs of BLOCK=256 units."""
    code = ("from tests.test_ladder import parity; "
            "print(max(parity(c, 'triton', *s) for c in ('LSTM', 'GRU') for s in [(1, 2, 3, 5), (4, 3, 4, 100)]))")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "TRITON_INTERPRET": "1"})
    assert run.returncode == 0, run.stderr[-2000:]
    assert float(run.stdout.split()[-1]) < TOL


@pytest.mark.parametrize("cell", LAYERS)
def test_handwritten_backward_against_finite_differences(cell: str) -> None:
    """Rung 3's autograd.Function (chapters 3 and 4 by hand) passes torch.autograd.gradcheck, with
    respect to the inputs, the initial states and every parameter."""
    torch.manual_seed(1)
    T, B, D, H = 3, 2, 3, 2
    G = 4 if cell == "LSTM" else 3
    make = lambda *shape: torch.randn(*shape, dtype=torch.float64, requires_grad=True)  # noqa: E731
    X, states = make(T, B, D), [make(B, H) for _ in range(2 if cell == "LSTM" else 1)]
    params = [make(G * H, D), make(G * H, H), make(G * H), make(G * H)]
    fn = LSTMFunction if cell == "LSTM" else GRUFunction
    assert torch.autograd.gradcheck(lambda *a: fn.apply(*a, EAGER), (X, *states, *params))


def test_batch_first_and_zero_states() -> None:
    """batch_first and omitted states behave as torch.nn's (one rung of each kind suffices: they are shared)."""
    torch.manual_seed(2)
    ref = torch.nn.LSTM(3, 4, batch_first=True, dtype=torch.float64)
    X = torch.randn(2, 5, 3, dtype=torch.float64)
    Y_ref, (h_ref, c_ref) = ref(X)
    for impl in ("naive", "handwritten"):
        ours = LadderLSTM(3, 4, impl=impl, batch_first=True, dtype=torch.float64)
        ours.load_state_dict(ref.state_dict())
        Y, (h, c) = ours(X)
        assert Y.shape == (2, 5, 4) and h.shape == c.shape == (1, 2, 4)  # torch.nn's (layers, B, H)
        assert max(rel(Y, Y_ref), rel(h, h_ref), rel(c, c_ref)) < TOL


def test_initial_states_with_or_without_the_layer_axis() -> None:
    """An initial state given as torch.nn's (1, B, H) or as (B, H) is the same state."""
    torch.manual_seed(3)
    X, h0, c0 = (torch.randn(*shape, dtype=torch.float64) for shape in ((4, 2, 3), (2, 5), (2, 5)))
    lstm, gru = LadderLSTM(3, 5, dtype=torch.float64), LadderGRU(3, 5, dtype=torch.float64)
    Y1, (h1, c1) = lstm(X, (h0, c0))
    Y2, (h2, c2) = lstm(X, (h0[None], c0[None]))
    assert torch.equal(Y1, Y2) and torch.equal(h1, h2) and torch.equal(c1, c2) and h1.shape == (1, 2, 5)
    assert torch.equal(gru(X, h0)[1], gru(X, h0[None])[1])


def test_rungs_listed_in_order() -> None:
    """RUNGS names the five rungs, bottom to top, each with a one-line description."""
    assert list(RUNGS) == ["naive", "premul", "handwritten", "fused", "triton", "graphed"]
    assert all(isinstance(text, str) and "\n" not in text and text for text in RUNGS.values())


def test_rung_problem_says_which_rungs_run_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """rung_problem (what a benchmark asks before timing a rung): the CPU runs rungs 1-3 always,
    never 'graphed', 'triton' only in Triton's interpreter, 'fused' where torch.compile works."""
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    assert [rung_problem(impl, "cpu") for impl in ("naive", "premul", "handwritten")] == [None] * 3
    assert rung_problem("graphed", "cpu") == "CUDA graphs need a CUDA device, not cpu"
    triton = rung_problem("triton", torch.device("cpu"))
    assert triton is not None and ("TRITON_INTERPRET=1" in triton or "not installed" in triton)
    assert rung_problem("fused", "cpu") == kernels.compile_problem("cpu")
    with pytest.raises(ValueError, match="impl must be one of"):
        rung_problem("cudnn", "cpu")


# --- bad input --------------------------------------------------------------------------------------


def test_unknown_impl_lists_the_rungs() -> None:
    with pytest.raises(ValueError, match=r"impl must be one of \('naive', 'premul', 'handwritten', 'fused', "
                                         r"'triton', 'graphed'\), got 'cudnn'"):
        LadderLSTM(3, 4, impl="cudnn")
    with pytest.raises(ValueError, match="impl must be one of"):
        LadderGRU(3, 4, impl=2)  # type: ignore[arg-type]


@pytest.mark.parametrize("impl", [*CPU_RUNGS, "triton"])
def test_wrong_shapes_are_named(impl: str) -> None:
    lstm, gru = LadderLSTM(3, 4, impl=impl), LadderGRU(3, 4, impl=impl)
    with pytest.raises(ValueError, match=r"X must have shape \(T, B, 3\): last axis is 5"):
        lstm(torch.zeros(2, 2, 5))
    with pytest.raises(ValueError, match=r"X must have shape \(T, B, 3\) \(time-major\), got 2-D"):
        gru(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"h0 must have shape \(B, H\) = \(2, 4\), got \(2, 5\)"):
        gru(torch.zeros(6, 2, 3), torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"c0 must have shape \(1, B, H\) = \(1, 2, 4\) or \(B, H\) for this "
                                         r"one-layer, one-direction layer, got \(2, 2, 4\)"):
        lstm(torch.zeros(6, 2, 3), (torch.zeros(2, 4), torch.zeros(2, 2, 4)))
    with pytest.raises(TypeError, match=r"state0 must be None or a pair \(h0, c0\)"):
        lstm(torch.zeros(6, 2, 3), torch.zeros(2, 4))  # type: ignore[arg-type]


def test_wrong_types_and_devices_are_named() -> None:
    lstm = LadderLSTM(3, 4, impl="handwritten")
    with pytest.raises(TypeError, match="X must be a torch.Tensor, got list"):
        lstm([[[0.0, 0.0, 0.0]]])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="X has dtype torch.float64 but the layer's parameters are torch.float32"):
        lstm(torch.zeros(2, 2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"impl='graphed' captures CUDA graphs .* got cpu; .*impl='handwritten'"):
        LadderGRU(3, 4, impl="graphed")(torch.zeros(2, 2, 3))
    with pytest.raises(TypeError, match="hidden_size must be a positive int"):
        LadderGRU(3, 4.0)  # type: ignore[arg-type]
