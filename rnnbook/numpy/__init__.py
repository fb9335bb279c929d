"""Reference recurrent layers in NumPy: forward and backward written by hand, float64 by default."""

from rnnbook.numpy.rnn import RNN, rnn_step_backward, rnn_step_forward

__all__ = ["RNN", "rnn_step_backward", "rnn_step_forward"]
