"""rnnbook: recurrent neural networks derived, implemented in NumPy and PyTorch, and verified.

Subpackages and modules (each one topic):

- ``rnnbook.numpy``: reference layers with hand-written forward and backward passes.
- ``rnnbook.torch``: the same layers as torch modules (any device, autograd).
- ``rnnbook.state``: moving state dicts between our layers and ``torch.nn``.
- ``rnnbook.checks``: the one validation module: every argument check of the package (clear errors for bad input).
- ``rnnbook.gradcheck``: finite-difference gradient checks and relative errors.
- ``rnnbook.tbptt``: truncated backpropagation through time, TBPTT(k1, k2).
- ``rnnbook.train``: a small training loop for sequence regression.
- ``rnnbook.data``: synthetic tasks (the adding problem, the delayed echo).
- ``rnnbook.exercises``: checkers for the chapters' exercises (your function against the reference).
- ``rnnbook.seed``, ``rnnbook.device``, ``rnnbook.plot``: reproducibility, device choice, figures.

``import rnnbook`` itself imports neither torch nor matplotlib; import what you use.
"""

__version__ = "0.1.0"
