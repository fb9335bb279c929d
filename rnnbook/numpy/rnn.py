"""The vanilla (Elman) RNN in NumPy: one step, then a layer that runs it over a sequence.

Chapter 1 derives the recurrence (its equation label is ``rnn-recurrence``)::

    h_t = phi(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),    phi = tanh or relu

Axes are time-major: inputs ``(T, B, D)``, states ``(B, H)``. Rows are batch entries, so
:math:`W x_t` is written ``x @ W_ih.T``, exactly as ``torch.nn.RNNCell`` lays out its weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnbook.checks import check_nonlinearity, check_step, check_step_backward
from rnnbook.numpy.activations import activate, activate_grad
from rnnbook.numpy.layer import RecurrentLayer

#: What the backward pass of one step needs, ``(x, h_prev, h)`` (:func:`~rnnbook.numpy.rnn_step_forward` returns it).
StepCache = tuple[np.ndarray, np.ndarray, np.ndarray]


def rnn_step_forward(x: np.ndarray, h_prev: np.ndarray, params: dict[str, np.ndarray],
                     nonlinearity: str = "tanh") -> tuple[np.ndarray, StepCache]:
    """One step of the recurrence, eq. ``rnn-recurrence``.

    Parameters
    ----------
    x : ndarray, shape (B, D)
        The inputs :math:`x_t`.
    h_prev : ndarray, shape (B, H)
        The previous state :math:`h_{t-1}`.
    params : dict
        ``weight_ih`` (H, D), ``weight_hh`` (H, H), ``bias_ih`` (H,), ``bias_hh`` (H,).
    nonlinearity : {"tanh", "relu"}

    Returns
    -------
    h : ndarray, shape (B, H)
        The new state :math:`h_t`.
    cache : tuple
        ``(x, h_prev, h)``: what the backward pass of this step needs.

    Raises
    ------
    TypeError, ValueError
        If an array is not floating, the shapes disagree, or ``nonlinearity`` is not tanh or relu.
    """
    check_step(x, h_prev, params, gate_count=1)  # shapes and types, see rnnbook.checks
    W_ih, W_hh, b_ih, b_hh = params["weight_ih"], params["weight_hh"], params["bias_ih"], params["bias_hh"]
    a = x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh  # a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh   (B, H)
    h = activate(a, nonlinearity)                    # h_t = phi(a_t)
    return h, (x, h_prev, h)


def rnn_step_backward(dh: np.ndarray, cache: StepCache, params: dict[str, np.ndarray],
                      nonlinearity: str = "tanh") -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The chain rule through one step of :func:`rnn_step_forward` (chapter 2, eq. ``bptt-delta``).

    Parameters
    ----------
    dh : ndarray, shape (B, H)
        :math:`\\partial L / \\partial h_t`, everything that reaches :math:`h_t`: from its own
        output and from step :math:`t+1`.
    cache : tuple
        What :func:`rnn_step_forward` returned for this step.
    params : dict
        The parameters used in the forward pass.
    nonlinearity : {"tanh", "relu"}

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
        ``nonlinearity`` is not tanh or relu.
    """
    check_step_backward(dh, cache, length=3)
    x, h_prev, h = cache
    W_ih, W_hh = params["weight_ih"], params["weight_hh"]
    da = dh * activate_grad(h, nonlinearity)  # delta_t = dL/dh_t * phi'(a_t)   (B, H)
    grads = {
        "weight_ih": da.T @ x,                # dL/dW_ih += delta_t x_t^T        (H, D)
        "weight_hh": da.T @ h_prev,           # dL/dW_hh += delta_t h_{t-1}^T    (H, H)
        "bias_ih": da.sum(axis=0),            # dL/db_ih += delta_t              (H,)
        "bias_hh": da.sum(axis=0),            # dL/db_hh += delta_t              (H,)
    }
    dx = da @ W_ih                            # dL/dx_t = W_ih^T delta_t         (B, D)
    dh_prev = da @ W_hh                       # dL/dh_{t-1} = W_hh^T delta_t     (B, H)
    return dx, dh_prev, grads


class RNN(RecurrentLayer):
    """A single-layer vanilla RNN, parameters laid out like ``torch.nn.RNNCell``.

    Parameters
    ----------
    input_size : int
        D.
    hidden_size : int
        H.
    nonlinearity : {"tanh", "relu"}, default "tanh"
    rng : numpy.random.Generator, optional
        Source of the initial weights, uniform in :math:`[-1/\\sqrt{H}, 1/\\sqrt{H}]`.
    dtype : numpy dtype, default float64

    Attributes
    ----------
    params : dict of ndarray
        ``weight_ih`` (H, D), ``weight_hh`` (H, H), ``bias_ih`` (H,), ``bias_hh`` (H,).

    Examples
    --------
    >>> rnn = RNN(3, 5, rng=np.random.default_rng(0))
    >>> Y, h_T = rnn.forward(np.zeros((7, 2, 3)))
    >>> Y.shape, h_T.shape
    ((7, 2, 5), (2, 5))
    """

    gate_count = 1

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh", *,
                 rng: np.random.Generator | None = None, dtype: Any = np.float64) -> None:
        self.nonlinearity = check_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, rng=rng, dtype=dtype)

    def forward(self, X: np.ndarray, h0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Run the recurrence over a whole sequence.

        Parameters
        ----------
        X : ndarray, shape (T, B, D)
            Time-major inputs.
        h0 : ndarray, shape (B, H), optional
            The initial state; zeros if omitted.

        Returns
        -------
        Y : ndarray, shape (T, B, H)
            Every state :math:`h_1, \\dots, h_T` (what ``torch.nn.RNN`` calls the output).
        h_T : ndarray, shape (B, H)
            The final state, read-only: :meth:`backward` reads it (copy it to change it).

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
            h, cache = rnn_step_forward(X[t], h, self.params, self.nonlinearity)
            Y[t] = h
            self._remember(cache)  # read-only: backward reads it
        return Y, h

    __call__ = forward

    def backward(self, dY: np.ndarray, dh_T: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Backpropagation through time over the last :meth:`forward` call (chapter 2).

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
            dX[t], dh_next, step_grads = rnn_step_backward(dh, self._caches[t], self.params, self.nonlinearity)
            for name, g in step_grads.items():
                grads[name] += g  # a shared weight's gradient is the sum over time
        grads["X"], grads["h0"] = dX, dh_next
        return grads

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", nonlinearity={self.nonlinearity!r})"
