"""Gradient clipping for torch parameters (chapter 2), in place, like ``torch.nn.utils``.

Written out so the chapter can show what clipping does; ``tests/test_bptt.py`` checks these
against ``torch.nn.utils.clip_grad_norm_`` and ``clip_grad_value_``.

Non-finite gradients: both functions raise ``ValueError`` naming the parameter whose ``.grad`` holds
NaN or inf, before changing any gradient, like ``torch.nn.utils.clip_grad_norm_(...,
error_if_nonfinite=True)`` (``rnnbook.numpy.clip`` does the same). Without the check, scaling an
infinite gradient gives NaN and zeros, and clamping passes NaN through. The check reads every
gradient, so on a GPU it synchronises with the host once per call.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

from rnnbook.checks import check_finite, check_positive, given


def _params(parameters: Iterable[Tensor] | Tensor) -> list[Tensor]:
    """``parameters`` as a list of tensors (one tensor is a list of one)."""
    if isinstance(parameters, Tensor):
        return [parameters]
    try:
        params = list(parameters)
    except TypeError:
        raise TypeError(f"parameters must be a tensor or an iterable of tensors, got {given(parameters)}") from None
    for k, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"parameters[{k}] must be a torch.Tensor, got {given(p)}")
    return params


def _grads(parameters: Iterable[Tensor] | Tensor, check: bool = False) -> list[Tensor]:
    """The ``.grad`` of each parameter that has one; with ``check``, each checked to be finite."""
    params = _params(parameters)
    if check:
        for k, p in enumerate(params):
            if p.grad is not None:
                check_finite(p.grad, f"parameters[{k}].grad (shape {tuple(p.shape)})",
                             ": clipping cannot repair NaN or inf")
    return [p.grad for p in params if p.grad is not None]


def grad_norm(parameters: Iterable[Tensor]) -> Tensor:
    """The global norm :math:`\\sqrt{\\sum_k \\lVert \\nabla_k \\rVert^2}` of the ``.grad`` of ``parameters``.

    Zero (a 0-d tensor) if no parameter has a gradient.
    """
    grads = _grads(parameters)
    if not grads:
        return torch.tensor(0.0)
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


def clip_grad_norm_(parameters: Iterable[Tensor], max_norm: float) -> Tensor:
    """Scale the ``.grad`` of ``parameters`` in place so their global norm is at most ``max_norm``.

    Returns
    -------
    Tensor
        The global norm before clipping (a 0-d tensor; zero if no parameter has a gradient).

    Raises
    ------
    TypeError
        If ``max_norm`` is not a number or ``parameters`` are not tensors.
    ValueError
        If ``max_norm`` is not positive and finite, or a gradient holds NaN or inf (named by its
        position in ``parameters``); no gradient is changed then.
    """
    check_positive("max_norm", max_norm)
    grads = _grads(parameters, check=True)
    if not grads:
        return torch.tensor(0.0)
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    scale = torch.clamp(max_norm / (norm + 1e-6), max=1.0)  # min(1, max_norm / ||g||)
    for g in grads:
        g.mul_(scale.to(g.dtype))
    return norm


def clip_grad_value_(parameters: Iterable[Tensor], clip_value: float) -> None:
    """Clamp every entry of the ``.grad`` of ``parameters`` to ``[-clip_value, clip_value]``, in place.

    Raises
    ------
    TypeError
        If ``clip_value`` is not a number or ``parameters`` are not tensors.
    ValueError
        If ``clip_value`` is not positive and finite, or a gradient holds NaN or inf (named by its
        position in ``parameters``); no gradient is changed then.
    """
    check_positive("clip_value", clip_value)
    for g in _grads(parameters, check=True):
        g.clamp_(-clip_value, clip_value)
