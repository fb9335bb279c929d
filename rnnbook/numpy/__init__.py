"""Reference recurrent layers in NumPy: forward and backward written by hand, float64 by default."""

from rnnbook.numpy.gru import GRU, gru_step_backward, gru_step_forward
from rnnbook.numpy.lstm import LSTM, lstm_step_backward, lstm_step_forward
from rnnbook.numpy.rnn import RNN, rnn_step_backward, rnn_step_forward

__all__ = [
    "GRU", "gru_step_backward", "gru_step_forward",
    "LSTM", "lstm_step_backward", "lstm_step_forward",
    "RNN", "rnn_step_backward", "rnn_step_forward",
]
