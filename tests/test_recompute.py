"""Recomputation across time chunks (rnnbook.torch.recompute, chapter 11): the outputs, final state
and every gradient equal the plain layer's in float64, whatever the chunk length; it holds less for
the backward pass; bad input is refused with a clear error."""

from __future__ import annotations

import pytest
import torch

import rnnbook.torch
from rnnbook.torch.recompute import recompute_forward, saved_bytes


T, B, D, H = 11, 3, 4, 5


def _layer(kind: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if kind.startswith("nn."):
        return getattr(torch.nn, kind[3:])(D, H).double()
    return getattr(rnnbook.torch, kind)(D, H, dtype=torch.float64)


def _state0(kind: str, batch_dims: tuple[int, ...]) -> torch.Tensor | tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(1)
    make = lambda: torch.randn(*batch_dims, B, H, dtype=torch.float64, generator=g).requires_grad_()  # noqa: E731
    return (make(), make()) if "LSTM" in kind else make()


def _grads(layer: torch.nn.Module, X: torch.Tensor, state0, run) -> list[torch.Tensor]:
    """Outputs, final state and the gradients of a fixed random loss w.r.t. X, state0 and the weights."""
    Y, state = run(layer, X, state0)
    flat_state = state if isinstance(state, tuple) else (state,)
    g = torch.Generator().manual_seed(2)
    loss = (Y * torch.randn(Y.shape, dtype=Y.dtype, generator=g)).sum()
    loss = loss + sum((s * torch.randn(s.shape, dtype=s.dtype, generator=g)).sum() for s in flat_state)
    inputs = [X, *(() if state0 is None else (state0 if isinstance(state0, tuple) else (state0,))),
              *layer.parameters()]
    return [Y.detach(), *(s.detach() for s in flat_state), *torch.autograd.grad(loss, inputs)]


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU", "nn.LSTM", "nn.GRU"])
@pytest.mark.parametrize("chunk", [1, 4, 11, 50])
@pytest.mark.parametrize("with_state", [False, True])
def test_outputs_and_gradients_equal_the_plain_layer(kind, chunk, with_state):
    """Chunks that divide T, that do not (4: 4+4+3), one step each, and one chunk longer than T."""
    layer = _layer(kind)
    X = torch.randn(T, B, D, dtype=torch.float64, generator=torch.Generator().manual_seed(3), requires_grad=True)
    state0 = _state0(kind, (1,) if kind.startswith("nn.") else ()) if with_state else None
    plain = _grads(layer, X, state0, lambda m, x, s: m(x, s))
    chunked = _grads(layer, X, state0, lambda m, x, s: recompute_forward(m, x, s, chunk=chunk))
    assert len(plain) == len(chunked)
    for a, b in zip(plain, chunked):
        assert a.shape == b.shape
        torch.testing.assert_close(b, a, rtol=1e-12, atol=1e-12)


def test_the_test_can_fail_a_state_not_carried_across_chunks_differs():
    """The comparison above detects a wrong recomputation: restarting each chunk from zeros differs."""
    layer, X = _layer("LSTM"), torch.randn(T, B, D, dtype=torch.float64)
    Y, _ = layer(X)
    restarted = torch.cat([layer(X_k)[0] for X_k in X.split(4)])
    assert (restarted - Y).abs().max() > 1e-3


def test_it_holds_less_for_backward_than_the_plain_layer():
    """Chunks of 10 steps of 100 keep the 10 chunk inputs and states, not the 100 steps' gates."""
    layer = _layer("LSTM")
    X = torch.randn(100, B, D, dtype=torch.float64, requires_grad=True)
    exclude = [*layer.parameters(), X]
    plain = saved_bytes(lambda: layer(X)[0], exclude)
    chunked = saved_bytes(lambda: recompute_forward(layer, X, chunk=10)[0], exclude)
    assert 0 < chunked < plain / 5


@pytest.mark.parametrize("kwargs, error, words", [
    ({"layer": "not a layer"}, TypeError, "layer must be a callable"),
    ({"X": [[1.0]]}, TypeError, "X must be a torch.Tensor"),
    ({"X": torch.zeros(3, D, dtype=torch.float64)}, ValueError, "shape (T, B, D)"),
    ({"X": torch.zeros(0, B, D, dtype=torch.float64)}, ValueError, "T >= 1, got shape (0, 3, 4)"),
    ({"chunk": 0}, ValueError, "chunk must be a positive int"),
    ({"chunk": 2.5}, TypeError, "chunk must be a positive int"),
    ({"chunk": True}, TypeError, "got bool"),
    ({"layer": rnnbook.torch.GRU(D, H, batch_first=True, dtype=torch.float64)}, ValueError, "batch_first=False"),
])
def test_bad_input_is_refused_with_a_clear_error(kwargs, error, words):
    args = {"layer": _layer("GRU"), "X": torch.zeros(T, B, D, dtype=torch.float64), "chunk": 4, **kwargs}
    with pytest.raises(error) as info:
        recompute_forward(args["layer"], args["X"], chunk=args["chunk"])
    assert words in str(info.value)
