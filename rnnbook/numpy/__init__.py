"""Reference recurrent layers in NumPy: forward and backward written by hand, float64 by default."""

from rnnbook.numpy.lstm import LSTM, lstm_step_backward, lstm_step_forward
from rnnbook.numpy.rnn import RNN, rnn_step_backward, rnn_step_forward

__all__ = [
    "LSTM", "lstm_step_backward", "lstm_step_forward",
    "RNN", "rnn_step_backward", "rnn_step_forward",
]
