"""A character-level language model in NumPy: one-hot characters, a recurrent layer, a linear head.

Chapter 5 trains it by hand. For a batch of ``B`` streams of ``T`` character indices::

    x_t = onehot(c_t)                    (V,)   the character read at step t
    h_t = layer(x_t, h_{t-1})            (H,)   rnnbook.numpy.RNN, LSTM or GRU
    a_t = W_hy h_t + b_y                 (V,)   logits: the scores of the next character   (charlm-head)
    L   = mean over t, b of cross-entropy(a_t, c_{t+1})

Everything is batched and vectorised over ``B`` (min-char-rnn runs one sequence at a time). The
one-hot input makes the layer's ``weight_ih`` the character embedding: column ``k`` of
:math:`W_{ih}` is what character ``k`` adds to the pre-activations, exactly what an embedding table
followed by a projection would learn.

Parameters are named like the state dict of the torch twin :class:`rnnbook.torch.charlm.CharModel`
(``recurrent.weight_ih``, ..., ``head.weight``, ``head.bias``), so one state dict moves between
them. The state carried from one chunk to the next is the layer's (``h`` or ``(h, c)``); the
gradient does not flow back into the previous chunk (truncated BPTT, chapter 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from rnnbook.checks import as_real_array, check_float_dtype, check_option, check_rng, check_size, check_state_dict, given
from rnnbook.numpy.gru import GRU
from rnnbook.numpy.loss import cross_entropy_with_grad
from rnnbook.numpy.lstm import LSTM
from rnnbook.numpy.rnn import RNN
from rnnbook.state import rename_keys

#: A NumPy recurrent layer the character model can use.
Layer = RNN | LSTM | GRU
#: The recurrent cells by name (``"rnn"``, ``"lstm"``, ``"gru"``).
CELLS: dict[str, type[Layer]] = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
#: The carried state: None, an array (B, H), or the LSTM's pair (h, c).
State = Any  # None, an array (B, H), or the LSTM's pair (h, c)


def check_tokens(name: str, tokens: Any, vocab_size: int, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """``tokens`` checked to be an integer array of shape (T, B) (or ``shape``) with values in [0, V).

    Raises
    ------
    TypeError
        If ``tokens`` is not an integer array (a float array, a list, a string).
    ValueError
        If it is not 2-D (or not ``shape``), is empty, or holds an index outside ``[0, vocab_size)``.
    """
    expected = f"an integer array of shape {shape if shape is not None else '(T, B)'} of character indices"
    if not isinstance(tokens, np.ndarray) or tokens.dtype.kind not in "iu":
        raise TypeError(f"{name} must be {expected}, got {given(tokens)} (encode text with a vocabulary first)")
    if (shape is not None and tokens.shape != shape) or (shape is None and tokens.ndim != 2):
        raise ValueError(f"{name} must be {expected}, got shape {tokens.shape}")
    if tokens.size == 0:
        raise ValueError(f"{name} must hold at least one step of one stream, got shape {tokens.shape}")
    if tokens.min() < 0 or tokens.max() >= vocab_size:
        raise ValueError(f"{name} must be character indices in [0, {vocab_size}), "
                         f"got values from {tokens.min()} to {tokens.max()}")
    return tokens


class CharModel:
    """One-hot characters -> ``rnnbook.numpy`` RNN/LSTM/GRU -> linear head (eq. ``charlm-head``).

    Parameters
    ----------
    vocab_size : int
        V, the number of distinct characters (input and output size).
    hidden_size : int
        H.
    cell : {"rnn", "lstm", "gru"}, default "lstm"
    rng : numpy.random.Generator, optional
        Source of the initial weights: the layer's as in ``torch.nn``, the head's uniform in
        :math:`[-1/\\sqrt{H}, 1/\\sqrt{H}]` as ``torch.nn.Linear``.
    dtype : numpy dtype, default float64

    Examples
    --------
    >>> model = CharModel(5, 8, "gru", rng=np.random.default_rng(0))
    >>> logits, h = model.forward(np.zeros((7, 3), dtype=int))
    >>> logits.shape, h.shape
    ((7, 3, 5), (3, 8))
    """

    def __init__(self, vocab_size: int, hidden_size: int, cell: str = "lstm", *,
                 rng: np.random.Generator | None = None, dtype: Any = np.float64) -> None:
        self.vocab_size = check_size("vocab_size", vocab_size)
        self.hidden_size = check_size("hidden_size", hidden_size)
        self.cell = check_option("cell", cell, tuple(CELLS))
        self.dtype = check_float_dtype("dtype", dtype)
        rng = np.random.default_rng() if rng is None else check_rng(rng)
        self.recurrent: Layer = CELLS[cell](self.vocab_size, self.hidden_size, rng=rng, dtype=self.dtype)
        k = 1.0 / np.sqrt(self.hidden_size)
        self.head = {"weight": rng.uniform(-k, k, size=(self.vocab_size, self.hidden_size)).astype(self.dtype),
                     "bias": rng.uniform(-k, k, size=self.vocab_size).astype(self.dtype)}
        self._eye = np.eye(self.vocab_size, dtype=self.dtype)  # row k is onehot(k)
        self._Y: np.ndarray | None = None                      # the layer's outputs in the last forward

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Every parameter, keyed like the torch twin's state dict (with the cell's names:
        ``recurrent.weight_ih`` for its ``recurrent.weight_ih_l0``); the arrays themselves (an
        optimiser updates them in place)."""
        out = {f"recurrent.{name}": p for name, p in self.recurrent.params.items()}
        out.update({f"head.{name}": p for name, p in self.head.items()})
        return out

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {name: p.shape for name, p in self.params.items()}

    def num_parameters(self) -> int:
        return sum(p.size for p in self.params.values())

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of :attr:`params`."""
        return {name: p.copy() for name, p in self.params.items()}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Load copies of ``state_dict``'s values (NumPy arrays or torch tensors, e.g. the torch
        twin's ``state_dict()``, whose ``recurrent.weight_ih_l0`` is our ``recurrent.weight_ih``), keeping the arrays an optimiser holds: values are copied into them.

        Raises
        ------
        rnnbook.checks.StateDictError
            If a key is missing or unexpected.
        TypeError, ValueError
            If a value is not real, has the wrong shape, or holds NaN or inf.
        """
        checked = check_state_dict(rename_keys(state_dict, "_l0", "", "recurrent."), self.param_shapes())
        for name, p in self.params.items():
            p[...] = as_real_array(f"state_dict[{name!r}]", checked[name], self.dtype)

    def forward(self, inputs: np.ndarray, state: State = None) -> tuple[np.ndarray, State]:
        """Logits for the next character at every step of every stream.

        Parameters
        ----------
        inputs : ndarray of int, shape (T, B)
            Character indices in ``[0, V)``.
        state : optional
            The layer's state carried from the previous chunk (``h`` (B, H), or ``(h, c)`` for an
            LSTM); zeros if omitted.

        Returns
        -------
        logits : ndarray, shape (T, B, V)
        state :
            The layer's final state, to pass to the next chunk.

        Raises
        ------
        TypeError, ValueError
            If ``inputs`` is not an integer (T, B) array of indices in range, or ``state`` does not
            fit (as the layer's ``forward``).
        """
        inputs = check_tokens("inputs", inputs, self.vocab_size)
        (T, B), H, V = inputs.shape, self.hidden_size, self.vocab_size
        X = self._eye[inputs]                                   # x_t = onehot(c_t)           (T, B, V)
        Y, state = self.recurrent.forward(X, state)             # h_t = layer(x_t, h_{t-1})   (T, B, H)
        self._Y = Y
        logits = Y.reshape(T * B, H) @ self.head["weight"].T    # every step in one product   (TB, V)
        logits += self.head["bias"]                             # in place: no second (TB, V) array
        return logits.reshape(T, B, V), state                   # a_t = W_hy h_t + b_y        (T, B, V)

    __call__ = forward

    def backward(self, dlogits: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients of every parameter from :math:`\\partial L / \\partial a_t` of the last :meth:`forward`.

        Parameters
        ----------
        dlogits : ndarray, shape (T, B, V)
            E.g. :func:`rnnbook.numpy.loss.cross_entropy_grad` of the logits.

        Returns
        -------
        dict of ndarray
            Keyed like :attr:`params`.

        Raises
        ------
        RuntimeError
            If :meth:`forward` has not been called (``rnnbook.checks.NoForwardError``).
        ValueError
            If ``dlogits`` is not shaped like the last logits.
        """
        if self._Y is None:
            from rnnbook.checks import NoForwardError
            raise NoForwardError("backward() needs a forward() first: there is nothing to backpropagate through")
        Y, W_hy = self._Y, self.head["weight"]
        T, B, H = Y.shape
        if not isinstance(dlogits, np.ndarray) or dlogits.shape != (T, B, self.vocab_size):
            raise ValueError(f"dlogits must have the shape of the last logits (T, B, V) = {(T, B, self.vocab_size)}, "
                             f"got {given(dlogits)}")
        da = dlogits.reshape(T * B, self.vocab_size)            # (TB, V)
        grads = {"head.weight": da.T @ Y.reshape(T * B, H),     # dL/dW_hy = sum_t,b da_t h_t^T   (V, H)
                 "head.bias": da.sum(axis=0)}                   # dL/db_y = sum_t,b da_t          (V,)
        dY = (da @ W_hy).reshape(T, B, H)                       # dL/dh_t = W_hy^T da_t           (T, B, H)
        layer_grads = self.recurrent.backward(dY)               # BPTT through the chunk (chapters 2-4)
        grads.update({f"recurrent.{name}": layer_grads[name] for name in self.recurrent.params})
        return grads

    def loss_and_grads(self, inputs: np.ndarray, targets: np.ndarray, state: State = None
                       ) -> tuple[float, dict[str, np.ndarray], State]:
        """Forward, mean cross-entropy against ``targets`` and backward, in one call.

        Parameters
        ----------
        inputs, targets : ndarray of int, shape (T, B)
            ``targets[t, b]`` is the character that follows ``inputs[t, b]``.
        state : optional
            Carried from the previous chunk, as in :meth:`forward`.

        Returns
        -------
        loss : float
            The mean cross-entropy in nats per character.
        grads : dict of ndarray
            Keyed like :attr:`params`.
        state :
            The final state, to carry to the next chunk.

        Raises
        ------
        TypeError, ValueError
            If ``inputs`` or ``targets`` is not an integer array of indices in range, or their shapes differ.
        """
        inputs = check_tokens("inputs", inputs, self.vocab_size)
        check_tokens("targets", targets, self.vocab_size, shape=inputs.shape)
        logits, state = self.forward(inputs, state)
        loss, dlogits = cross_entropy_with_grad(logits, targets)  # dL/da_t = (softmax(a_t) - onehot(y_t)) / N
        return loss, self.backward(dlogits), state

    def __repr__(self) -> str:
        return (f"CharModel(vocab_size={self.vocab_size}, hidden_size={self.hidden_size}, cell={self.cell!r}, "
                f"dtype={self.dtype})")
