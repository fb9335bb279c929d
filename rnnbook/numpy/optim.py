"""Optimisers for NumPy parameters (chapter 5): plain SGD and Adam, updating arrays in place.

Both take the parameters as a dict of arrays (e.g. :attr:`rnnbook.numpy.charlm.CharModel.params`) and,
at each :meth:`step`, a dict of gradients with the same keys and shapes. They compute exactly what
``torch.optim.SGD`` and ``torch.optim.Adam`` compute with their default options
(``tests/test_charlm.py`` checks Adam against torch step by step)::

    SGD:   p <- p - lr * g
    Adam:  m <- beta1 m + (1 - beta1) g,   v <- beta2 v + (1 - beta2) g^2          (adam-moments)
           p <- p - lr / (1 - beta1^t) * m / (sqrt(v / (1 - beta2^t)) + eps)     (adam-update)

Their ``state_dict()`` / ``load_state_dict()`` hold everything a resumed run needs (Adam's moments
and step count), so a NumPy training run can be checkpointed like a torch one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from rnnbook.checks import StateDictError, check_finite, check_int, check_positive, given


def _check_params(params: Any) -> dict[str, np.ndarray]:
    if not isinstance(params, Mapping) or not params:
        raise TypeError(f"params must be a non-empty dict of names to parameter arrays, got {given(params)}")
    for name, p in params.items():
        if not isinstance(p, np.ndarray) or p.dtype.kind != "f" or not p.flags.writeable:
            raise TypeError(f"params[{name!r}] must be a writeable floating ndarray (it is updated in place), got {given(p)}")
    return dict(params)


class Optimizer:
    """Base of the NumPy optimisers: holds the parameters and checks the gradients of each step."""

    def __init__(self, params: Mapping[str, np.ndarray], lr: float) -> None:
        self.params = _check_params(params)
        self.lr = check_positive("lr", lr)

    def _checked(self, grads: Any) -> Mapping[str, np.ndarray]:
        """``grads`` with exactly the parameters' keys, each of its parameter's shape, finite."""
        if not isinstance(grads, Mapping):
            raise TypeError(f"grads must be a dict of names to gradient arrays, got {given(grads)}")
        missing, unexpected = sorted(set(self.params) - set(grads)), sorted(set(grads) - set(self.params))
        if missing:
            raise StateDictError(f"grads must have a gradient for every parameter: missing {missing}")
        for name, p in self.params.items():
            g = grads[name]
            if not isinstance(g, np.ndarray) or g.shape != p.shape:
                raise ValueError(f"grads[{name!r}] must be an array of shape {p.shape}, got {given(g)}")
            check_finite(g, f"grads[{name!r}]")
        del unexpected  # extra gradients (of the inputs, the initial state) are ignored
        return grads

    def step(self, grads: Mapping[str, np.ndarray]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """The learning rate (and for Adam its moments and step count), as copies."""
        return {"lr": self.lr}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        if not isinstance(state, Mapping) or "lr" not in state:
            raise StateDictError(f"state must be what state_dict() returned (with 'lr'), got {given(state)}")
        self.lr = check_positive("state['lr']", state["lr"])


class SGD(Optimizer):
    """Plain gradient descent, :math:`p \\leftarrow p - \\eta g` (``torch.optim.SGD`` without momentum)."""

    def step(self, grads: Mapping[str, np.ndarray]) -> None:
        """Update every parameter in place.

        Raises
        ------
        StateDictError, TypeError, ValueError
            If a parameter has no gradient, or one is of the wrong shape or not finite.
        """
        for name, g in self._checked(grads).items():
            if name in self.params:
                self.params[name] -= self.lr * g  # p <- p - lr g


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with ``torch.optim.Adam``'s defaults, eqs. ``adam-moments`` and ``adam-update``.

    Parameters
    ----------
    params : dict of name to ndarray
        Updated in place.
    lr : float, default 1e-3
    betas : pair of float, default (0.9, 0.999)
    eps : float, default 1e-8
    """

    def __init__(self, params: Mapping[str, np.ndarray], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2 or not all(
                isinstance(b, (float, int)) and 0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"betas must be a pair of numbers in [0, 1), got {betas!r}")
        self.beta1, self.beta2 = float(betas[0]), float(betas[1])
        self.eps = check_positive("eps", eps)
        self.t = 0
        self.m = {name: np.zeros_like(p) for name, p in self.params.items()}
        self.v = {name: np.zeros_like(p) for name, p in self.params.items()}

    def step(self, grads: Mapping[str, np.ndarray]) -> None:
        """Update every parameter in place.

        Raises
        ------
        StateDictError, TypeError, ValueError
            If a parameter has no gradient, or one is of the wrong shape or not finite.
        """
        grads = self._checked(grads)
        self.t += 1
        bc1, bc2 = 1.0 - self.beta1 ** self.t, 1.0 - self.beta2 ** self.t
        for name, p in self.params.items():
            g, m, v = grads[name], self.m[name], self.v[name]
            m *= self.beta1
            m += (1.0 - self.beta1) * g                       # m <- beta1 m + (1 - beta1) g
            v *= self.beta2
            v += (1.0 - self.beta2) * g * g                   # v <- beta2 v + (1 - beta2) g^2
            denom = np.sqrt(v) / np.sqrt(bc2) + self.eps      # sqrt(v / (1 - beta2^t)) + eps
            p -= (self.lr / bc1) * m / denom                  # p <- p - lr / (1 - beta1^t) * m / denom

    def state_dict(self) -> dict[str, Any]:
        return {"lr": self.lr, "betas": (self.beta1, self.beta2), "eps": self.eps, "t": self.t,
                "m": {k: a.copy() for k, a in self.m.items()}, "v": {k: a.copy() for k, a in self.v.items()}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned.

        Raises
        ------
        StateDictError
            If a key is missing, or the moments are not of these parameters (named).
        ValueError
            If a moment's shape differs from its parameter's.
        """
        super().load_state_dict(state)
        missing = [k for k in ("t", "m", "v") if k not in state]
        if missing:
            raise StateDictError(f"Adam state is missing {missing}")
        for key in ("m", "v"):
            if set(state[key]) != set(self.params):
                raise StateDictError(f"Adam state[{key!r}] has moments for {sorted(state[key])}, "
                                     f"but the parameters are {sorted(self.params)}")
            for name, p in self.params.items():
                if np.shape(state[key][name]) != p.shape:
                    raise ValueError(f"Adam state[{key!r}][{name!r}] has shape {np.shape(state[key][name])}, "
                                     f"but the parameter has shape {p.shape}")
        self.t = check_int("state['t']", state["t"], minimum=0)
        self.m = {k: np.array(state["m"][k], dtype=p.dtype) for k, p in self.params.items()}
        self.v = {k: np.array(state["v"][k], dtype=p.dtype) for k, p in self.params.items()}
