"""The torch layers' backward pass does work linear in T (issue 9, defect 3), checked by structure.

Autograd's cost is set by the gradients its nodes produce. Reading the input projection ``XW[t]``
step by step made every step's backward produce a zero-filled (T, B, G*H) gradient, so the total
grew as T^2; splitting ``XW`` once with ``unbind`` makes it linear. The probe below counts, in one
backward pass, the elements of every gradient every autograd node returns: for a graph that grows
by the same nodes at every step the count is affine in T, so its second difference over equally
spaced T is exactly zero. No wall clock is involved, so the test does not depend on the machine.
"""

from __future__ import annotations

import pytest
import torch

import rnnbook.torch

B, D, H = 2, 3, 4
TS = (3, 6, 9)  # equally spaced sequence lengths


def backward_elements(forward, T: int) -> int:
    """Elements of all gradients returned by all autograd nodes during ``forward(X).sum().backward()``."""
    X = torch.randn(T, B, D, dtype=torch.float64, generator=torch.Generator().manual_seed(T),
                    requires_grad=True)
    h0 = torch.zeros(B, H, dtype=torch.float64, requires_grad=True)
    loss = forward(X, h0).sum()
    total = 0

    def count(grad_inputs, grad_outputs) -> None:
        nonlocal total
        total += sum(g.numel() for g in grad_inputs if g is not None)

    seen, stack, handles = set(), [loss.grad_fn], []
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        handles.append(node.register_hook(count))
        stack.extend(next_node for next_node, _ in node.next_functions)
    loss.backward()
    for handle in handles:
        handle.remove()
    return total


def second_difference(forward) -> int:
    e1, e2, e3 = (backward_elements(forward, T) for T in TS)
    return e3 - 2 * e2 + e1


def layers() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    f64 = {"dtype": torch.float64}
    return {"RNN tanh": rnnbook.torch.RNN(D, H, **f64), "RNN relu": rnnbook.torch.RNN(D, H, "relu", **f64),
            "LSTM": rnnbook.torch.LSTM(D, H, **f64),
            "GRU reset_after": rnnbook.torch.GRU(D, H, **f64),
            "GRU reset_before": rnnbook.torch.GRU(D, H, reset_after=False, **f64)}


@pytest.mark.parametrize("name", list(layers()))
def test_torch_layer_backward_is_linear_in_T(name):
    """Issue 9, defect 3: the gradient elements autograd produces grow linearly in T (for Y and h_T)."""
    layer = layers()[name]

    def forward(X, h0):
        Y, state = layer(X, (h0, torch.zeros_like(h0)) if name == "LSTM" else h0)
        h_T = state[0] if name == "LSTM" else state
        return Y.sum() + h_T.sum()

    assert backward_elements(forward, TS[0]) > 0
    assert second_difference(forward) == 0


def test_probe_detects_the_quadratic_pattern():
    """The probe is not blind: the loop that reads XW[t] (what issue 9 removed) has a positive second
    difference, T*B*H zero-filled elements more per step for each of the T reads."""
    layer = layers()["RNN tanh"]

    def indexing_rnn(X, h0):
        XW = X @ layer.weight_ih.T + layer.bias_ih  # (T, B, H)
        h, states = h0, []
        for t in range(X.shape[0]):
            h = torch.tanh(XW[t] + h @ layer.weight_hh.T + layer.bias_hh)
            states.append(h)
        return torch.stack(states).sum()

    assert second_difference(indexing_rnn) > 0
