"""A many-to-one recurrent classifier: one label for a whole, variable-length sequence (chapter 9).

Characters are embedded, read by an ``rnnbook.torch`` RNN/LSTM/GRU, and one state per sequence
goes to a linear head::

    e_t = E[c_t],   h_t = layer(e_t, h_{t-1}),   a = W_hy h_{l} + b_y        (classify-readout)

where :math:`l` is the sequence's own length: in a padded batch, :func:`last_valid` reads step
``lengths[b] - 1`` of sequence ``b``, not the batch's last step. The layer is unidirectional, so
its state at step ``l`` has read exactly the sequence and none of the padding after it: a word gets
the same logits alone and in any padded batch (tests/test_classify.py checks it).
:func:`masked_mean` is the other readout, the mean of the valid states. :func:`classify_loss` is
the ``loss_fn`` of :func:`rnnbook.train.train`, with optional class weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnbook.checks import check_int, check_option, check_size, given
from rnnbook.classify import pad_batch
from rnnbook.torch.charlm import CELLS, _check_tokens

#: The readouts by name, ``"last"`` (each sequence's last valid state) and ``"mean"`` (the mean of its valid states).
READOUTS = ("last", "mean")


def _check_lengths(lengths: Any, T: int, B: int, device: torch.device) -> Tensor:
    """``lengths`` (B,) of ints in [1, T], as an int64 tensor on ``device``."""
    if isinstance(lengths, np.ndarray) and lengths.dtype.kind in "iu":
        lengths = torch.from_numpy(lengths)
    if not isinstance(lengths, Tensor) or lengths.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise TypeError(f"lengths must be an integer tensor (or NumPy array) of shape (B,) = ({B},), got {given(lengths)}")
    if tuple(lengths.shape) != (B,):
        raise ValueError(f"lengths must have shape (B,) = ({B},), one per sequence of the batch, got {tuple(lengths.shape)}")
    low, high = int(lengths.min()), int(lengths.max())
    if low < 1 or high > T:
        raise ValueError(f"lengths must be in [1, T] = [1, {T}] (a sequence has at least one step and at most "
                         f"the batch's T), got values from {low} to {high}")
    return lengths.to(device=device, dtype=torch.int64)


def last_valid(Y: Tensor, lengths: Any) -> Tensor:
    """Each sequence's state at its own last step: ``Y[lengths[b] - 1, b]`` for every b.

    Parameters
    ----------
    Y : Tensor, shape (T, B, H)
        A unidirectional layer's outputs over a padded batch.
    lengths : Tensor or ndarray of ints, shape (B,)
        In ``[1, T]``.

    Returns
    -------
    Tensor, shape (B, H)

    Raises
    ------
    TypeError, ValueError
        If ``Y`` is not 3-D, or ``lengths`` has the wrong shape or a value outside ``[1, T]``.
    """
    if not isinstance(Y, Tensor) or Y.dim() != 3:
        raise TypeError(f"Y must be a tensor of shape (T, B, H), got {given(Y)}")
    T, B, _ = Y.shape
    index = _check_lengths(lengths, T, B, Y.device) - 1     # (B,): the last valid step of each
    return Y[index, torch.arange(B, device=Y.device)]        # h_{l_b} for each b   (B, H)


def masked_mean(Y: Tensor, lengths: Any) -> Tensor:
    """The mean of each sequence's valid states, :math:`\\frac{1}{l_b} \\sum_{t < l_b} h_t`: (T, B, H) to (B, H).

    Raises
    ------
    TypeError, ValueError
        As :func:`last_valid`.
    """
    if not isinstance(Y, Tensor) or Y.dim() != 3:
        raise TypeError(f"Y must be a tensor of shape (T, B, H), got {given(Y)}")
    T, B, _ = Y.shape
    lengths = _check_lengths(lengths, T, B, Y.device)
    mask = torch.arange(T, device=Y.device)[:, None] < lengths[None, :]  # (T, B): True on valid steps
    return (Y * mask[..., None]).sum(dim=0) / lengths[:, None].to(Y.dtype)


class SequenceClassifier(nn.Module):
    """Embedding -> ``rnnbook.torch`` RNN/LSTM/GRU -> readout -> ``nn.Linear``: logits for one label per sequence.

    Parameters
    ----------
    vocab_size : int
        V, padding id included.
    num_classes : int
        C.
    hidden_size : int, default 64
    embedding_dim : int, default 16
    cell : {"rnn", "lstm", "gru"}, default "gru"
    readout : {"last", "mean"}, default "last"
        :func:`last_valid` or :func:`masked_mean`.
    pad_id : int, default 0
        Its embedding is zero and is not trained.
    device, dtype :
        Where and in what precision the parameters live.

    Examples
    --------
    >>> model = SequenceClassifier(10, 3, hidden_size=8)
    >>> tuple(model(torch.ones(5, 4, dtype=torch.long), torch.tensor([5, 2, 1, 3])).shape)
    (4, 3)
    """

    def __init__(self, vocab_size: int, num_classes: int, hidden_size: int = 64, embedding_dim: int = 16,
                 cell: str = "gru", readout: str = "last", pad_id: int = 0, *,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.vocab_size = check_size("vocab_size", vocab_size)
        self.num_classes = check_size("num_classes", num_classes)
        self.cell = check_option("cell", cell, tuple(CELLS))
        self.readout = check_option("readout", readout, READOUTS)
        check_int("pad_id", pad_id, minimum=0, maximum=self.vocab_size - 1)
        kw: dict[str, Any] = {"device": device, "dtype": dtype}
        self.embedding = nn.Embedding(self.vocab_size, check_size("embedding_dim", embedding_dim), padding_idx=pad_id, **kw)
        self.recurrent = CELLS[cell](embedding_dim, check_size("hidden_size", hidden_size), **kw)
        self.head = nn.Linear(hidden_size, self.num_classes, **kw)

    def pool(self, Y: Tensor, lengths: Any) -> Tensor:
        """One state per sequence from the layer's outputs ``Y`` (T, B, H): (B, H)."""
        return last_valid(Y, lengths) if self.readout == "last" else masked_mean(Y, lengths)

    def forward(self, inputs: Any, lengths: Any) -> Tensor:
        """``inputs`` (T, B) of ids, padded after each sequence's ``lengths[b]`` steps, to logits (B, C).

        Raises
        ------
        TypeError, ValueError
            If ``inputs`` is not an integer (T, B) tensor or array, or ``lengths`` is not (B,) in ``[1, T]``.
        """
        inputs = _check_tokens("inputs", inputs).to(self.head.weight.device).long()
        E = self.embedding(inputs)                 # e_t = E[c_t]           (T, B, E)
        Y, _ = self.recurrent(E)                   # h_t                    (T, B, H)
        return self.head(self.pool(Y, lengths))    # a = W_hy h_l + b_y     (B, C)

    def extra_repr(self) -> str:
        return f"cell={self.cell!r}, readout={self.readout!r}"


def class_weights(labels: Any, num_classes: int) -> np.ndarray:
    """``N / (C n_c)`` for each class c with ``n_c`` of the ``N`` labels: weights that make every
    class contribute the same total to a weighted loss (1 for all when the classes are balanced).

    Raises
    ------
    ValueError
        If a class has no label.
    """
    C = check_size("num_classes", num_classes)
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=C)
    if counts.size != C or (counts == 0).any():
        raise ValueError(f"every class in [0, {C}) needs a label to be weighted, got counts {counts.tolist()}")
    return counts.sum() / (C * counts)


def classify_loss(model: nn.Module, batch: Any, carry: Any = None, *, weight: Any = None) -> tuple[Tensor, None]:
    """The mean cross-entropy of ``model`` on a batch ``(X (T, B), lengths (B,), labels (B,))``.

    The ``loss_fn`` of :func:`rnnbook.train.train` for sequence classifiers (no state is carried:
    it returns ``None``). ``weight`` (C,) weighs each class's examples, as ``F.cross_entropy`` does
    (the weighted mean divides by the sum of the batch's weights). Arrays move to the model's device.

    Raises
    ------
    TypeError, ValueError
        If ``batch`` is not such a triple, or the labels are not B integer class ids.
    """
    if not isinstance(batch, (tuple, list)) or len(batch) != 3:
        raise TypeError(f"batch must be a triple (X (T, B), lengths (B,), labels (B,)), got {given(batch)}")
    X, lengths, labels = batch
    param = next(model.parameters())
    logits = model(X, lengths)
    y = torch.as_tensor(labels, device=param.device)
    if y.dtype.is_floating_point or tuple(y.shape) != (logits.shape[0],):
        raise TypeError(f"labels must be {logits.shape[0]} integer class ids, shape (B,), got {given(labels)}")
    w = None if weight is None else torch.as_tensor(weight, dtype=logits.dtype, device=param.device)
    return F.cross_entropy(logits, y.long(), weight=w), None


@torch.no_grad()
def predict_logits(model: nn.Module, sequences: Sequence[np.ndarray], batch_size: int = 1024) -> np.ndarray:
    """The logits of ``model`` for each id sequence, ``(N, C)`` float64, in batches of ``batch_size``
    (in eval mode; the sequences are padded as :func:`rnnbook.classify.pad_batch` does)."""
    check_size("batch_size", batch_size)
    was_training = model.training
    model.eval()
    try:
        out = [model(*pad_batch(sequences[i:i + batch_size])).double().cpu().numpy()
               for i in range(0, len(sequences), batch_size)]
    finally:
        model.train(was_training)
    if not out:
        raise ValueError("sequences must not be empty")
    return np.concatenate(out)
