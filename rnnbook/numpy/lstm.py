"""The LSTM in NumPy: one step forward and its backward, then a layer that runs them over a sequence.

Chapter 3 derives the cell, exactly as ``torch.nn.LSTM`` computes it (both biases)::

    i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)    input gate       (lstm-i)
    f_t = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf)    forget gate      (lstm-f)
    g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)       candidate        (lstm-g)
    o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho)    output gate      (lstm-o)
    c_t = f_t * c_{t-1} + i_t * g_t                         cell state       (lstm-c)
    h_t = o_t * tanh(c_t)                                   hidden state     (lstm-h)

The four gates' weights are stacked in the order i, f, g, o, as in ``torch.nn.LSTMCell``:
``weight_ih`` is ``[W_ii; W_if; W_ig; W_io]`` of shape (4H, D), so one matrix product gives all
four pre-activations, which are then split. Axes are time-major: inputs ``(T, B, D)``, states
``(B, H)``.
"""

from __future__ import annotations


import numpy as np

from rnnbook.checks import check_finite_number, check_state_pair, check_step, check_step_backward
from rnnbook.numpy.activations import sigmoid
from rnnbook.numpy.layer import RecurrentLayer

#: What the backward pass of one step needs, ``(x, h_prev, c_prev, i, f, g, o, tanh_c)``
#: (:func:`~rnnbook.numpy.lstm_step_forward` returns it).
StepCache = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def lstm_step_forward(x: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray,
                      params: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, StepCache]:
    """One step of the LSTM, eqs. ``lstm-i`` to ``lstm-h``.

    Parameters
    ----------
    x : ndarray, shape (B, D)
        The inputs :math:`x_t`.
    h_prev : ndarray, shape (B, H)
        The previous hidden state :math:`h_{t-1}`.
    c_prev : ndarray, shape (B, H)
        The previous cell state :math:`c_{t-1}`.
    params : dict
        ``weight_ih`` (4H, D), ``weight_hh`` (4H, H), ``bias_ih`` (4H,), ``bias_hh`` (4H,), gate
        blocks in the order i, f, g, o.

    Returns
    -------
    h : ndarray, shape (B, H)
        The new hidden state :math:`h_t`.
    c : ndarray, shape (B, H)
        The new cell state :math:`c_t`.
    cache : tuple
        ``(x, h_prev, c_prev, i, f, g, o, tanh_c)``: what :func:`lstm_step_backward` needs.

    Raises
    ------
    TypeError, ValueError
        If an array is not floating or the shapes disagree.
    """
    check_step(x, h_prev, params, gate_count=4, c_prev=c_prev)  # shapes and types, see rnnbook.checks
    W_ih, W_hh, b_ih, b_hh = params["weight_ih"], params["weight_hh"], params["bias_ih"], params["bias_hh"]
    H = h_prev.shape[1]
    a = x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh  # all four pre-activations at once    (B, 4H)
    i = sigmoid(a[:, 0 * H:1 * H])                  # i_t = sigma(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
    f = sigmoid(a[:, 1 * H:2 * H])                  # f_t = sigma(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
    g = np.tanh(a[:, 2 * H:3 * H])                  # g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
    o = sigmoid(a[:, 3 * H:4 * H])                  # o_t = sigma(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
    c = f * c_prev + i * g                          # c_t = f_t * c_{t-1} + i_t * g_t
    tanh_c = np.tanh(c)
    h = o * tanh_c                                  # h_t = o_t * tanh(c_t)
    return h, c, (x, h_prev, c_prev, i, f, g, o, tanh_c)


def lstm_step_backward(dh: np.ndarray, dc: np.ndarray, cache: StepCache, params: dict[str, np.ndarray]
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The chain rule through one step of :func:`lstm_step_forward` (chapter 3, eqs. ``lstm-do`` to ``lstm-dparams``).

    Parameters
    ----------
    dh : ndarray, shape (B, H)
        :math:`\\partial L / \\partial h_t`, everything that reaches :math:`h_t`: from its own
        output and from step :math:`t+1`.
    dc : ndarray, shape (B, H)
        :math:`\\partial L / \\partial c_t` from step :math:`t+1` only (through :math:`c_{t+1}`);
        the path through :math:`h_t` is added here.
    cache : tuple
        What :func:`lstm_step_forward` returned for this step.
    params : dict
        The parameters used in the forward pass.

    Returns
    -------
    dx : ndarray, shape (B, D)
        :math:`\\partial L / \\partial x_t`.
    dh_prev : ndarray, shape (B, H)
        :math:`\\partial L / \\partial h_{t-1}` through this step.
    dc_prev : ndarray, shape (B, H)
        :math:`\\partial L / \\partial c_{t-1}` through this step.
    grads : dict
        This step's share of each parameter's gradient, keyed like ``params``.

    Raises
    ------
    TypeError, ValueError
        If ``cache`` is not this step's, or ``dh`` or ``dc`` is not shaped like :math:`h_{t-1}`.
    """
    check_step_backward(dh, cache, length=8, dc=dc)
    x, h_prev, c_prev, i, f, g, o, tanh_c = cache
    W_ih, W_hh = params["weight_ih"], params["weight_hh"]
    do = dh * tanh_c                             # dL/do_t = dL/dh_t * tanh(c_t)
    dc = dc + dh * o * (1.0 - tanh_c) * (1.0 + tanh_c)  # dL/dc_t = (from c_{t+1}) + dL/dh_t * o_t * tanh'(c_t)
    di = dc * g                                  # dL/di_t = dL/dc_t * g_t
    df = dc * c_prev                             # dL/df_t = dL/dc_t * c_{t-1}
    dg = dc * i                                  # dL/dg_t = dL/dc_t * i_t
    dc_prev = dc * f                             # dL/dc_{t-1} = dL/dc_t * f_t   (the carousel)
    da = np.concatenate([
        di * i * (1.0 - i),                      # through sigma' = sigma (1 - sigma)
        df * f * (1.0 - f),
        dg * (1.0 - g) * (1.0 + g),              # through tanh' = 1 - tanh^2 (factored: exact near |g| = 1)
        do * o * (1.0 - o),
    ], axis=1)                                   # delta_t, pre-activations in the order i, f, g, o   (B, 4H)
    grads = {
        "weight_ih": da.T @ x,                   # dL/dW_ih += delta_t x_t^T        (4H, D)
        "weight_hh": da.T @ h_prev,              # dL/dW_hh += delta_t h_{t-1}^T    (4H, H)
        "bias_ih": da.sum(axis=0),               # dL/db_ih += delta_t              (4H,)
        "bias_hh": da.sum(axis=0),               # dL/db_hh += delta_t              (4H,)
    }
    dx = da @ W_ih                               # dL/dx_t = W_ih^T delta_t         (B, D)
    dh_prev = da @ W_hh                          # dL/dh_{t-1} = W_hh^T delta_t     (B, H)
    return dx, dh_prev, dc_prev, grads


class LSTM(RecurrentLayer):
    """A single-layer LSTM, parameters laid out like ``torch.nn.LSTMCell``.

    Parameters
    ----------
    input_size : int
        D.
    hidden_size : int
        H.
    rng : numpy.random.Generator, optional
        Source of the initial weights, uniform in :math:`[-1/\\sqrt{H}, 1/\\sqrt{H}]`.
    dtype : numpy dtype, default float64

    Attributes
    ----------
    params : dict of ndarray
        ``weight_ih`` (4H, D), ``weight_hh`` (4H, H), ``bias_ih`` (4H,), ``bias_hh`` (4H,); each
        stacks the blocks of the gates i, f, g, o in that order (rows ``H:2H`` are the forget gate's).

    Examples
    --------
    >>> lstm = LSTM(3, 5, rng=np.random.default_rng(0))
    >>> Y, (h_T, c_T) = lstm.forward(np.zeros((7, 2, 3)))
    >>> Y.shape, h_T.shape, c_T.shape
    ((7, 2, 5), (2, 5), (2, 5))
    """

    gate_count = 4

    def set_forget_bias(self, value: float) -> None:
        """Make the forget gate's total bias :math:`b_{if} + b_{hf}` equal ``value`` in every unit.

        Sets ``bias_ih[H:2H] = value`` and ``bias_hh[H:2H] = 0``, so that at the start
        :math:`f_t \\approx \\sigma(\\text{value})` (1 gives 0.73: the cell keeps most of its content).

        Raises
        ------
        TypeError, ValueError
            If ``value`` is not a finite real number.
        """
        value = check_finite_number("value", value)
        H = self.hidden_size
        self.params["bias_ih"][H:2 * H] = value
        self.params["bias_hh"][H:2 * H] = 0.0

    def forward(self, X: np.ndarray, state0: tuple[np.ndarray, np.ndarray] | None = None
                ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Run the LSTM over a whole sequence.

        Parameters
        ----------
        X : ndarray, shape (T, B, D)
            Time-major inputs.
        state0 : pair of ndarray (h0, c0), each of shape (B, H), optional
            The initial hidden and cell states; zeros if omitted (as ``torch.nn.LSTM``'s
            ``(h_0, c_0)`` without the layer axis).

        Returns
        -------
        Y : ndarray, shape (T, B, H)
            Every hidden state :math:`h_1, \\dots, h_T` (what ``torch.nn.LSTM`` calls the output).
        (h_T, c_T) : pair of ndarray, each of shape (B, H)
            The final hidden and cell states.

        Raises
        ------
        TypeError, ValueError
            If ``X``, ``state0`` or its members have the wrong type, shape, or hold NaN/inf.
        """
        X, T, B = self._check_input(X)
        h0, c0 = (None, None) if state0 is None else check_state_pair(state0, "state0")
        h, c = self._check_state(h0, B, "h0"), self._check_state(c0, B, "c0")
        Y = np.empty((T, B, self.hidden_size), dtype=self.dtype)
        self._caches = []  # one per step, for the backward pass
        for t in range(T):
            h, c, cache = lstm_step_forward(X[t], h, c, self.params)
            Y[t] = h
            self._remember(cache)  # read-only: backward reads it
        return Y, (h, c)

    __call__ = forward

    def backward(self, dY: np.ndarray, dh_T: np.ndarray | None = None,
                 dc_T: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Backpropagation through time over the last :meth:`forward` call (chapter 3).

        Parameters
        ----------
        dY : ndarray, shape (T, B, H)
            :math:`\\partial L / \\partial h_t` for every output, as the loss sees them.
        dh_T : ndarray, shape (B, H), optional
            An extra gradient on the final hidden state (e.g. from a loss on it, or a later chunk).
        dc_T : ndarray, shape (B, H), optional
            A gradient on the final cell state (e.g. from a later chunk).

        Returns
        -------
        dict of ndarray
            ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` (the parameters' gradients,
            same names and shapes), ``X`` (T, B, D), ``h0`` (B, H) and ``c0`` (B, H).

        Raises
        ------
        RuntimeError
            If :meth:`forward` has not been called.
        TypeError, ValueError
            If ``dY``, ``dh_T`` or ``dc_T`` does not match the shapes of that forward pass.
        """
        dY, T, B = self._check_upstream(dY)
        dh_next, dc_next = self._check_state(dh_T, B, "dh_T"), self._check_state(dc_T, B, "dc_T")
        grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        dX = np.empty((T, B, self.input_size), dtype=self.dtype)
        for t in reversed(range(T)):
            dh = dY[t] + dh_next  # dL/dh_t = (from output t) + (from step t+1)
            dX[t], dh_next, dc_next, step_grads = lstm_step_backward(dh, dc_next, self._caches[t], self.params)
            for name, g in step_grads.items():
                grads[name] += g  # a shared weight's gradient is the sum over time
        grads["X"], grads["h0"], grads["c0"] = dX, dh_next, dc_next
        return grads
