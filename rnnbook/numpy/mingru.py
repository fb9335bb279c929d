"""minGRU in NumPy with its backward written by hand (chapter 12): the reference for :class:`rnnbook.torch.scan.MinGRU`.

Eq. ``scan-mingru``, time-major ``(T, B, D)``::

    k_t, u_t = x_t W^T + b          (the two blocks of one projection, like torch's ``linear``)
    z_t = sigmoid(k_t),  h~_t = g(u_t),  h_t = (1 - z_t) h_{t-1} + z_t h~_t

``g(u) = u + 1/2`` for ``u >= 0``, ``sigmoid(u)`` below. The parameters are ``{"weight": (2H, D),
"bias": (2H,)}``, the torch layer's ``linear.weight`` and ``linear.bias``. Forward runs the loop (the
gates need no state, so they are computed for all steps at once first); backward runs the chain rule
of each line back in time.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))   # = 1 / (1 + e^-x), without overflow


def _check(params: dict[str, np.ndarray], X: np.ndarray, h0: np.ndarray) -> int:
    W, b = params.get("weight"), params.get("bias")
    if not isinstance(W, np.ndarray) or W.ndim != 2 or W.shape[0] % 2:
        raise ValueError(f"params['weight'] must be an array of shape (2H, D), got {getattr(W, 'shape', W)}")
    H, D = W.shape[0] // 2, W.shape[1]
    if not isinstance(b, np.ndarray) or b.shape != (2 * H,):
        raise ValueError(f"params['bias'] must have shape ({2 * H},), got {getattr(b, 'shape', b)}")
    if not isinstance(X, np.ndarray) or X.ndim != 3 or X.shape[2] != D or X.shape[0] < 1:
        raise ValueError(f"X must be an array of shape (T, B, {D}) with T >= 1, got {getattr(X, 'shape', X)}")
    if not isinstance(h0, np.ndarray) or h0.shape != (X.shape[1], H):
        raise ValueError(f"h0 must be an array of shape ({X.shape[1]}, {H}), got {getattr(h0, 'shape', h0)}")
    return H


def mingru_forward(params: dict[str, np.ndarray], X: np.ndarray, h0: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """All states ``h`` (T, B, H) of eq. ``scan-mingru`` from ``h0`` (B, H), and the cache for :func:`mingru_backward`.

    Raises
    ------
    ValueError
        If a shape does not fit ``params['weight']`` (2H, D).
    """
    H = _check(params, X, h0)
    W, b = params["weight"], params["bias"]
    pre = X @ W.T + b                                  # (T, B, 2H): every step's gates at once
    k, u = pre[..., :H], pre[..., H:]
    z = _sigmoid(k)                                    # z_t = sigmoid(k_t)
    s = _sigmoid(u)
    g = np.where(u >= 0, u + 0.5, s)                   # h~_t = g(u_t)
    h = np.empty_like(g)
    h_prev = h0
    for t in range(X.shape[0]):
        h_prev = (1 - z[t]) * h_prev + z[t] * g[t]     # h_t = (1 - z_t) h_{t-1} + z_t h~_t
        h[t] = h_prev
    return h, {"X": X, "h0": h0, "u": u, "z": z, "s": s, "g": g, "h": h}


def mingru_backward(params: dict[str, np.ndarray], dh: np.ndarray, cache: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Gradients of a loss with ``dL/dh`` = ``dh`` (T, B, H): ``(dX (T, B, D), dh0 (B, H), {"weight", "bias"})``.

    Each line is the chain rule of one forward line, run from ``t = T`` back to 1.
    """
    X, h0, u, z, s, g, h = (cache[key] for key in ("X", "h0", "u", "z", "s", "g", "h"))
    if dh.shape != h.shape:
        raise ValueError(f"dh must have the shape of h, {h.shape}, got {dh.shape}")
    dk, du = np.empty_like(z), np.empty_like(u)
    carry = np.zeros_like(h0)                          # dL/dh_t through h_{t+1}
    for t in reversed(range(X.shape[0])):
        d = dh[t] + carry                              # total dL/dh_t
        h_prev = h[t - 1] if t > 0 else h0
        dz = d * (g[t] - h_prev)                       # from h_t = h_{t-1} + z_t (h~_t - h_{t-1})
        dk[t] = dz * z[t] * (1 - z[t])                 # z = sigmoid(k)
        du[t] = d * z[t] * np.where(u[t] >= 0, 1.0, s[t] * (1 - s[t]))   # h~ = g(u): g' = 1 or sigmoid'
        carry = d * (1 - z[t])                         # dL/dh_{t-1}
    dpre = np.concatenate([dk, du], axis=-1)           # (T, B, 2H)
    W = params["weight"]
    grads = {"weight": np.einsum("tbo,tbd->od", dpre, X), "bias": dpre.sum(axis=(0, 1))}
    return dpre @ W, carry, grads
