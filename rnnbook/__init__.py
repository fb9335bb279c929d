"""rnnbook: recurrent neural networks derived, implemented in NumPy and PyTorch, and verified.

Subpackages and modules (each one topic):

- ``rnnbook.numpy``: reference layers with hand-written forward and backward passes; softmax and
  cross-entropy (``loss``), a character model (``charlm``), SGD and Adam (``optim``), clipping.
- ``rnnbook.torch``: the same layers as torch modules (any device, autograd); the character model's twin (``charlm``).
- ``rnnbook.state``: moving state dicts between our layers and ``torch.nn``.
- ``rnnbook.checks``: the one validation module: every argument check of the package (clear errors for bad input).
- ``rnnbook.gradcheck``: finite-difference gradient checks and relative errors.
- ``rnnbook.tbptt``: truncated backpropagation through time, TBPTT(k1, k2).
- ``rnnbook.train``: the one training loop (``train``), and ``train_regressor`` for chapters 2-4.
- ``rnnbook.checkpoint``: checkpoints that resume a run bit for bit.
- ``rnnbook.distributed``: data-parallel training with ``torch.distributed`` and ``torchrun`` (the same loop).
- ``rnnbook.data``: synthetic tasks (the adding problem, the delayed echo).
- ``rnnbook.exercises``: checkers for the chapters' exercises (your function against the reference).
- ``rnnbook.seed``, ``rnnbook.device``, ``rnnbook.plot``: reproducibility, device choice, figures.

``import rnnbook`` itself imports neither torch nor matplotlib; import what you use.
"""

__version__ = "0.1.0"
