"""Gradient clipping for torch parameters (chapter 2), in place, like ``torch.nn.utils``.

Written out so the chapter can show what clipping does; ``tests/test_bptt.py`` checks these
against ``torch.nn.utils.clip_grad_norm_`` and ``clip_grad_value_``.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

from rnnbook.checks import check_positive


def _grads(parameters: Iterable[Tensor]) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


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
    ValueError
        If ``max_norm`` is not positive.
    """
    check_positive("max_norm", max_norm)
    parameters = list(parameters) if not isinstance(parameters, Tensor) else [parameters]
    norm = grad_norm(parameters)
    scale = torch.clamp(max_norm / (norm + 1e-6), max=1.0)  # min(1, max_norm / ||g||)
    for g in _grads(parameters):
        g.mul_(scale.to(g.dtype))
    return norm


def clip_grad_value_(parameters: Iterable[Tensor], clip_value: float) -> None:
    """Clamp every entry of the ``.grad`` of ``parameters`` to ``[-clip_value, clip_value]``, in place.

    Raises
    ------
    ValueError
        If ``clip_value`` is not positive.
    """
    check_positive("clip_value", clip_value)
    for g in _grads(parameters):
        g.clamp_(-clip_value, clip_value)
