"""The gated recurrent unit (GRU) in NumPy: one step, then a layer that runs it over a sequence.

Chapter 4 derives it. Gate blocks are stacked ``r, z, n`` (reset, update, candidate) as in
``torch.nn.GRUCell``, and the two forms of the candidate differ only in where the reset gate acts::

    r_t = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)                      gru-reset
    z_t = sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)                      gru-update
    n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))               gru-candidate-after  (reset_after=True)
    n_t = tanh(W_in x_t + b_in + W_hn (r_t * h_{t-1}) + b_hn)               gru-candidate-cho    (reset_after=False)
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}                                   gru-state

``reset_after=True`` is what ``torch.nn.GRU`` and cuDNN compute; ``reset_after=False`` is the
form of Cho et al. (2014). Both have the same parameters, so one state dict loads into either.
Axes are time-major: inputs ``(T, B, D)``, states ``(B, H)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnbook.checks import check_bool, check_step, check_step_backward
from rnnbook.numpy.activations import sigmoid
from rnnbook.numpy.layer import RecurrentLayer

#: What the backward pass of one step needs, ``(x, h_prev, r, z, n, hn)`` (:func:`~rnnbook.numpy.gru_step_forward`
#: returns it); ``hn`` is :math:`W_{hn} h_{t-1} + b_{hn}` (``reset_after``) or :math:`W_{hn} (r_t \odot h_{t-1}) + b_{hn}`.
StepCache = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def gru_step_forward(x: np.ndarray, h_prev: np.ndarray, params: dict[str, np.ndarray],
                     reset_after: bool = True) -> tuple[np.ndarray, StepCache]:
    """One GRU step, eqs. ``gru-reset``, ``gru-update``, ``gru-candidate-after`` (or
    ``gru-candidate-cho``) and ``gru-state``.

    Parameters
    ----------
    x : ndarray, shape (B, D)
        The inputs :math:`x_t`.
    h_prev : ndarray, shape (B, H)
        The previous state :math:`h_{t-1}`.
    params : dict
        ``weight_ih`` (3H, D), ``weight_hh`` (3H, H), ``bias_ih`` (3H,), ``bias_hh`` (3H,),
        gate blocks stacked ``r, z, n``.
    reset_after : bool, default True
        True: the reset gate multiplies :math:`W_{hn} h_{t-1} + b_{hn}` (``torch.nn.GRU``, cuDNN),
        one product ``h_prev @ W_hh.T`` for all three blocks. False: it multiplies
        :math:`h_{t-1}` before :math:`W_{hn}` (Cho et al., 2014).

    Returns
    -------
    h : ndarray, shape (B, H)
        The new state :math:`h_t`.
    cache : tuple
        ``(x, h_prev, r, z, n, hn)``: what the backward pass of this step needs.

    Raises
    ------
    TypeError, ValueError
        If an array is not floating, the shapes disagree, or ``reset_after`` is not a bool.
    """
    check_step(x, h_prev, params, gate_count=3, reset_after=reset_after)  # see rnnbook.checks
    W_ih, W_hh, b_ih, b_hh = params["weight_ih"], params["weight_hh"], params["bias_ih"], params["bias_hh"]
    H = h_prev.shape[1]
    gi = x @ W_ih.T + b_ih                             # W_i* x_t + b_i* for r, z, n       (B, 3H)
    if reset_after:
        gh = h_prev @ W_hh.T + b_hh                    # W_h* h_{t-1} + b_h*: one product  (B, 3H)
        r = sigmoid(gi[:, :H] + gh[:, :H])             # r_t = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])   # z_t = sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        hn = gh[:, 2 * H:]                             # W_hn h_{t-1} + b_hn               (B, H)
        n = np.tanh(gi[:, 2 * H:] + r * hn)            # n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
    else:
        gh = h_prev @ W_hh[:2 * H].T + b_hh[:2 * H]    # W_hr h_{t-1} + b_hr, W_hz h_{t-1} + b_hz  (B, 2H)
        r = sigmoid(gi[:, :H] + gh[:, :H])             # r_t = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z = sigmoid(gi[:, H:2 * H] + gh[:, H:])        # z_t = sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        hn = (r * h_prev) @ W_hh[2 * H:].T + b_hh[2 * H:]  # W_hn (r_t * h_{t-1}) + b_hn: waits for r_t  (B, H)
        n = np.tanh(gi[:, 2 * H:] + hn)                # n_t = tanh(W_in x_t + b_in + W_hn (r_t * h_{t-1}) + b_hn)
    h = (1.0 - z) * n + z * h_prev                     # h_t = (1 - z_t) * n_t + z_t * h_{t-1}
    return h, (x, h_prev, r, z, n, hn)


def gru_step_backward(dh: np.ndarray, cache: StepCache, params: dict[str, np.ndarray],
                      reset_after: bool = True) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The chain rule through one step of :func:`gru_step_forward` (chapter 4, eqs.
    ``gru-grad-state``, ``gru-grad-gates``, ``gru-grad-reset-after`` or ``gru-grad-reset-cho``,
    and ``gru-grad-input``).

    Parameters
    ----------
    dh : ndarray, shape (B, H)
        :math:`\\partial L / \\partial h_t`, everything that reaches :math:`h_t`: from its own
        output and from step :math:`t+1`.
    cache : tuple
        What :func:`gru_step_forward` returned for this step.
    params : dict
        The parameters used in the forward pass.
    reset_after : bool, default True
        The form used in the forward pass.

    Returns
    -------
    dx : ndarray, shape (B, D)
        :math:`\\partial L / \\partial x_t`.
    dh_prev : ndarray, shape (B, H)
        :math:`\\partial L / \\partial h_{t-1}` through this step.
    grads : dict
        This step's share of each parameter's gradient, keyed like ``params``.

    Raises
    ------
    TypeError, ValueError
        If ``cache`` is not this step's, ``dh`` is not shaped like :math:`h_{t-1}`, or
        ``reset_after`` is not a bool.
    """
    check_step_backward(dh, cache, length=6, reset_after=reset_after)
    x, h_prev, r, z, n, hn = cache
    W_ih, W_hh = params["weight_ih"], params["weight_hh"]
    H = h_prev.shape[1]
    dn = dh * (1.0 - z)                       # dL/dn_t = dL/dh_t * (1 - z_t)
    dz = dh * (h_prev - n)                    # dL/dz_t = dL/dh_t * (h_{t-1} - n_t)
    dh_prev = dh * z                          # dL/dh_{t-1}, direct path = dL/dh_t * z_t
    da_n = dn * (1.0 - n) * (1.0 + n)         # delta^n_t = dL/dn_t * (1 - n_t^2)     (B, H)
    da_z = dz * z * (1.0 - z)                 # delta^z_t = dL/dz_t * z_t (1 - z_t)   (B, H)
    if reset_after:
        dr = da_n * hn                        # dL/dr_t = delta^n_t * (W_hn h_{t-1} + b_hn)
        da_r = dr * r * (1.0 - r)             # delta^r_t = dL/dr_t * r_t (1 - r_t)
        dgh = np.concatenate([da_r, da_z, da_n * r], axis=1)  # dL/d(W_h* h_{t-1} + b_h*)  (B, 3H)
        dW_hh = dgh.T @ h_prev                # dL/dW_hh += dgh^T h_{t-1}               (3H, H)
        dh_prev = dh_prev + dgh @ W_hh        # dL/dh_{t-1} += W_hh^T dgh
    else:
        drh = da_n @ W_hh[2 * H:]             # dL/d(r_t * h_{t-1}) = W_hn^T delta^n_t  (B, H)
        dr = drh * h_prev                     # dL/dr_t = dL/d(r_t * h_{t-1}) * h_{t-1}
        da_r = dr * r * (1.0 - r)             # delta^r_t = dL/dr_t * r_t (1 - r_t)
        dgh = np.concatenate([da_r, da_z, da_n], axis=1)  # dL/d(pre-activations), blocks r, z, n  (B, 3H)
        dW_hh = np.concatenate([dgh[:, :2 * H].T @ h_prev,     # dL/dW_h{r,z} += delta^{r,z}_t h_{t-1}^T
                                da_n.T @ (r * h_prev)])        # dL/dW_hn += delta^n_t (r_t * h_{t-1})^T
        dh_prev = dh_prev + dgh[:, :2 * H] @ W_hh[:2 * H] + drh * r  # ... + W_h{r,z}^T delta^{r,z}_t + r_t * W_hn^T delta^n_t
    dgi = np.concatenate([da_r, da_z, da_n], axis=1)  # dL/d(W_i* x_t + b_i*)     (B, 3H)
    grads = {
        "weight_ih": dgi.T @ x,               # dL/dW_ih += dgi^T x_t                   (3H, D)
        "weight_hh": dW_hh,                   #                                         (3H, H)
        "bias_ih": dgi.sum(axis=0),           # dL/db_ih += dgi                         (3H,)
        "bias_hh": dgh.sum(axis=0),           # dL/db_hh += dgh                         (3H,)
    }
    dx = dgi @ W_ih                           # dL/dx_t = W_ih^T dgi                    (B, D)
    return dx, dh_prev, grads


class GRU(RecurrentLayer):
    """A single-layer GRU, parameters laid out like ``torch.nn.GRUCell`` (blocks ``r, z, n``).

    Parameters
    ----------
    input_size : int
        D.
    hidden_size : int
        H.
    reset_after : bool, default True
        Where the reset gate acts: True for ``torch.nn.GRU`` / cuDNN (eq. ``gru-candidate-after``),
        False for Cho et al. (2014) (eq. ``gru-candidate-cho``). The parameters are the same.
    rng : numpy.random.Generator, optional
        Source of the initial weights, uniform in :math:`[-1/\\sqrt{H}, 1/\\sqrt{H}]`.
    dtype : numpy dtype, default float64

    Attributes
    ----------
    params : dict of ndarray
        ``weight_ih`` (3H, D), ``weight_hh`` (3H, H), ``bias_ih`` (3H,), ``bias_hh`` (3H,).

    Raises
    ------
    TypeError
        If ``reset_after`` is not a bool (and as :class:`~rnnbook.numpy.layer.RecurrentLayer` for the other arguments).

    Examples
    --------
    >>> gru = GRU(3, 5, rng=np.random.default_rng(0))
    >>> Y, h_T = gru.forward(np.zeros((7, 2, 3)))
    >>> Y.shape, h_T.shape, gru.params["weight_hh"].shape
    ((7, 2, 5), (2, 5), (15, 5))
    """

    gate_count = 3

    def __init__(self, input_size: int, hidden_size: int, reset_after: bool = True, *,
                 rng: np.random.Generator | None = None, dtype: Any = np.float64) -> None:
        self.reset_after = check_bool("reset_after", reset_after)
        super().__init__(input_size, hidden_size, rng=rng, dtype=dtype)

    def forward(self, X: np.ndarray, h0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Run the GRU over a whole sequence.

        Parameters
        ----------
        X : ndarray, shape (T, B, D)
            Time-major inputs.
        h0 : ndarray, shape (B, H), optional
            The initial state; zeros if omitted.

        Returns
        -------
        Y : ndarray, shape (T, B, H)
            Every state :math:`h_1, \\dots, h_T` (what ``torch.nn.GRU`` calls the output).
        h_T : ndarray, shape (B, H)
            The final state.

        Raises
        ------
        TypeError, ValueError
            If ``X`` or ``h0`` has the wrong type, shape, or holds NaN/inf.
        """
        X, T, B = self._check_input(X)
        h = self._check_state(h0, B, "h0")
        Y = np.empty((T, B, self.hidden_size), dtype=self.dtype)
        self._caches = []  # one per step, for the backward pass
        for t in range(T):
            h, cache = gru_step_forward(X[t], h, self.params, self.reset_after)
            Y[t] = h
            self._remember(cache)  # read-only: backward reads it
        return Y, h

    __call__ = forward

    def backward(self, dY: np.ndarray, dh_T: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Backpropagation through time over the last :meth:`forward` call.

        Parameters
        ----------
        dY : ndarray, shape (T, B, H)
            :math:`\\partial L / \\partial h_t` for every output, as the loss sees them.
        dh_T : ndarray, shape (B, H), optional
            An extra gradient on the final state (e.g. from a loss on it, or a later chunk).

        Returns
        -------
        dict of ndarray
            ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` (the parameters' gradients,
            same names and shapes), ``X`` (T, B, D) and ``h0`` (B, H).

        Raises
        ------
        RuntimeError
            If :meth:`forward` has not been called.
        TypeError, ValueError
            If ``dY`` or ``dh_T`` does not match the shapes of that forward pass.
        """
        dY, T, B = self._check_upstream(dY)
        dh_next = self._check_state(dh_T, B, "dh_T")
        grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        dX = np.empty((T, B, self.input_size), dtype=self.dtype)
        for t in reversed(range(T)):
            dh = dY[t] + dh_next  # dL/dh_t = (from output t) + (from step t+1)
            dX[t], dh_next, step_grads = gru_step_backward(dh, self._caches[t], self.params, self.reset_after)
            for name, g in step_grads.items():
                grads[name] += g  # a shared weight's gradient is the sum over time
        grads["X"], grads["h0"] = dX, dh_next
        return grads

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", reset_after={self.reset_after})"
