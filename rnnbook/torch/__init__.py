"""Recurrent layers as torch modules, built from tensor operations, on any device, with autograd."""

from rnnbook.checks import require_torch

require_torch("rnnbook.torch")  # a clear ImportError, before the first `import torch` below

from rnnbook.torch.gru import GRU
from rnnbook.torch.lstm import LSTM
from rnnbook.torch.rnn import RNN

__all__ = ["GRU", "LSTM", "RNN"]
