"""Checkers for the chapters' exercises: run your function against the package's reference.

Each ``check_<thing>(fn)`` calls ``fn`` on several seeded random cases (float64, sizes from 1 to 5)
and prints a verdict: that it passed, on how many cases, or what is wrong: which output, which
entry, by how much, and the likely cause when the answer is one of the common mistakes (a missing
transpose, a missing recurrent term, a forgotten derivative, a wrong gate order, ...). It returns
a :class:`Verdict`, true if ``fn`` passed. A function that raises ``NotImplementedError`` is
reported as not implemented yet. A checker runs in well under a second.

- chapter 1: :func:`check_rnn_step_forward`
- chapter 2: :func:`check_rnn_step_backward`, :func:`check_rnn_backward`
- chapter 3: :func:`check_lstm_step_backward`
- chapter 4: :func:`check_gru_step_forward`, :func:`check_gru_step_backward`
- chapter 5: :func:`check_top_p_filter`
- chapter 6: :func:`check_windows`
- chapter 7: :func:`check_adding_target`
- chapter 8: :func:`check_reverse_padded`
- chapter 9: :func:`check_last_valid`
- chapter 10: :func:`check_additive_attention`
- chapter 11: :func:`check_gru_step_cost`
- chapter 12: :func:`check_hillis_steele`
- chapter 13: :func:`check_rank_batch`, :func:`check_average_gradients`
"""

from rnnbook.exercises.classify import check_last_valid
from rnnbook.exercises.core import Verdict
from rnnbook.exercises.deep import check_reverse_padded
from rnnbook.exercises.distributed import check_average_gradients
from rnnbook.exercises.forecast import check_windows
from rnnbook.exercises.gru import check_gru_step_backward, check_gru_step_forward
from rnnbook.exercises.lstm import check_lstm_step_backward
from rnnbook.exercises.memory import check_adding_target
from rnnbook.exercises.rnn import check_rnn_backward, check_rnn_step_backward, check_rnn_step_forward
from rnnbook.exercises.sampling import check_top_p_filter
from rnnbook.exercises.scan import check_hillis_steele
from rnnbook.exercises.seq2seq import check_additive_attention
from rnnbook.exercises.sharding import check_rank_batch
from rnnbook.exercises.speed import check_gru_step_cost

__all__ = [
    "Verdict",
    "check_adding_target",
    "check_additive_attention",
    "check_average_gradients",
    "check_gru_step_backward",
    "check_gru_step_cost",
    "check_gru_step_forward",
    "check_hillis_steele",
    "check_last_valid",
    "check_lstm_step_backward",
    "check_rank_batch",
    "check_reverse_padded",
    "check_rnn_backward",
    "check_rnn_step_backward",
    "check_rnn_step_forward",
    "check_top_p_filter",
    "check_windows",
]
