"""Checker for chapter 13's first exercise: one rank's share of the streams of stateful truncated BPTT.

The reader writes ``rank_batch(ids, batch_size, chunk_len, rank, world_size, k) -> (x, y)``: rank
``rank``'s rows of chunk ``k``. The text is cut into ``B = batch_size`` contiguous streams of
``L = (len(ids) - 1) // B`` steps, as :class:`rnnbook.text.StreamBatcher` cuts it, and rank ``r`` of
``N = world_size`` owns the contiguous block of streams ``r B / N`` to ``(r + 1) B / N``
(:func:`rnnbook.distributed.shard`), so that the ranks' rows side by side are the one-process batch and
a carried state or a checkpoint moves between world sizes. ``x`` and ``y`` are time-major (T, B / N)
integer arrays, ``y`` the next characters. Each wrong variant below is the reference with one common
mistake in it.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from rnnbook.checks import check_callable, given
from rnnbook.exercises.core import Mistake, Outputs, Verdict, _where
from rnnbook.text import StreamBatcher

#: The arguments of the reader's function.
ARGUMENTS = ("ids", "batch_size", "chunk_len", "rank", "world_size", "k")
#: The cases of :func:`~rnnbook.exercises.check_rank_batch`, ``(len(ids), B, T, N)``. The first has three
#: streams per rank (interleaved rows differ from a block); ``len(ids) - 1`` is a multiple of neither ``B`` nor ``N`` in
#: most, and ``len(ids)`` is a multiple of ``B`` in the fourth (an off-by-one in ``L`` shows there).
RANK_BATCH_CASES = ((82, 6, 4, 2), (70, 4, 5, 1), (67, 6, 3, 3), (80, 8, 2, 4), (125, 12, 4, 4))


def _chunk(ids: np.ndarray, B: int, T: int, k: int, *, L: int | None = None,
           stride: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Chunk ``k`` of all ``B`` streams, (T, B) each; ``L`` and ``stride`` replaced make wrong variants."""
    L = (len(ids) - 1) // B if L is None else L                     # L = (len(ids) - 1) // B steps per stream
    start = k * (T if stride is None else stride)
    windows = [ids[b * L + start: b * L + start + T + 1] for b in range(B)]  # stream b from step `start`
    if any(len(w) != T + 1 for w in windows):
        raise IndexError("the chunk runs past the end of the ids")
    window = np.stack(windows)                                            # (B, T + 1)
    return window[:, :-1].T.copy(), window[:, 1:].T.copy()               # x, y: (T, B)


def rank_batch(ids: np.ndarray, batch_size: int, chunk_len: int, rank: int, world_size: int,
               k: int) -> tuple[np.ndarray, np.ndarray]:
    """The reference of :func:`~rnnbook.exercises.check_rank_batch`: chunk ``k`` as rank ``rank`` of
    ``world_size``'s :class:`~rnnbook.text.StreamBatcher` deals it.

    Returns
    -------
    x, y : ndarray, (T, B / N)
        Columns ``rank B / N`` to ``(rank + 1) B / N`` of the one-process chunk ``k``.

    Raises
    ------
    ValueError
        If ``batch_size`` is not divisible by ``world_size``, ``rank`` is not in ``[0, world_size)``, or
        ``k`` is not a chunk of one pass.
    """
    batcher = StreamBatcher(ids, batch_size, chunk_len, rank=rank, world_size=world_size)
    batcher.load_state_dict({"position": k, "epoch": 0})
    x, y, _ = batcher.next_batch()
    return x, y


def _one_process(ids: np.ndarray, B: int, T: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Chunk ``k`` of all ``B`` streams, as one process deals it: (T, B) each."""
    return rank_batch(ids, B, T, 0, 1, k)


def _xy(x: np.ndarray, y: np.ndarray) -> Outputs:
    return {"x": x, "y": y}


def _block(x: np.ndarray, y: np.ndarray, r: int, n: int) -> Outputs:
    return _xy(x[:, r * n: (r + 1) * n], y[:, r * n: (r + 1) * n])


def _interleaved(ids: np.ndarray, B: int, T: int, r: int, N: int, k: int) -> Outputs:
    x, y = _chunk(ids, B, T, k)
    return _xy(x[:, r::N], y[:, r::N])


def _text_split(ids: np.ndarray, B: int, T: int, r: int, N: int, k: int) -> Outputs:
    M = (len(ids) - 1) // N                                     # each rank cuts its own share of the text
    return _xy(*_chunk(ids[r * M: (r + 1) * M + 1], B // N, T, k))


#: The wrong answers :func:`~rnnbook.exercises.check_rank_batch` recognises (arguments
#: ``(ids, B, T, rank, N, k)``).
RANK_BATCH_MISTAKES = (
    Mistake("interleaved_rows", "rank r took every N-th stream (rows r, r + N, r + 2N, ..., i.e. [r::N]). Take the "
            "contiguous block rows r*B/N to (r+1)*B/N instead (rnnbook.distributed.shard): then the ranks' rows "
            "side by side are the one-process batch in order, and a carried state (layers, B, H) or a checkpoint "
            "moves between world sizes by concatenating blocks.", _interleaved),
    Mistake("rank_ignored", "every rank got rank 0's rows: the block must move with the rank, rows r*B/N to "
            "(r+1)*B/N.", lambda ids, B, T, r, N, k: _block(*_chunk(ids, B, T, k), 0, B // N)),
    Mistake("local_batch_as_global", "the whole text was cut into B/N streams (the local batch size) instead of B, "
            "so every rank reads the same streams. Cut it into the global B streams, then take this rank's block.",
            lambda ids, B, T, r, N, k: _xy(*_chunk(ids, B // N, T, k))),
    Mistake("text_split_per_rank", "each rank cut its own share of the text into B/N streams; unless len(ids) - 1 "
            "is a multiple of B, those streams start elsewhere than the one-process streams, so a checkpoint would "
            "not resume on another world size. Cut the whole text into B streams of L = (len(ids) - 1) // B steps "
            "first, then take this rank's block of rows.", _text_split),
    Mistake("stream_length_off_by_one", "a stream has L = (len(ids) - 1) // B steps (it needs one more id for the "
            "last target), not len(ids) // B; stream b reads ids[b*L : (b+1)*L + 1].",
            lambda ids, B, T, r, N, k: _block(*_chunk(ids, B, T, k, L=len(ids) // B), r, B // N)),
    Mistake("chunk_stride", "chunk k starts at step k*T of each stream (chunks share their boundary id: the last "
            "target of one is the first input of the next), not at k*(T + 1).",
            lambda ids, B, T, r, N, k: _block(*_chunk(ids, B, T, k, stride=T + 1), r, B // N)),
    Mistake("targets_not_shifted", "y must be the next characters, the stream one step ahead of x: "
            "y[t] = stream[k*T + t + 1].", lambda ids, B, T, r, N, k: _xy(*[rank_batch(ids, B, T, r, N, k)[0]] * 2)),
)


class _Wrong(Exception):
    """The reader's answer on one call is wrong: the verdict's message and cause."""

    def __init__(self, message: str, cause: str, output: str | None = None) -> None:
        super().__init__(message)
        self.cause, self.output = cause, output


def _as_ints(name: str, value: Any, shape: tuple[int, int]) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor is fine too
        value = value.detach().cpu().numpy()
    if not isinstance(value, np.ndarray):
        raise _Wrong(f"{name} is {given(value)}; expected an integer array (T, B/N) = {shape}", "wrong_type", name)
    if value.shape != shape:
        message = f"{name} has shape {value.shape}; expected (T, B/N) = {shape}"
        if value.shape == shape[::-1] and shape[0] != shape[1]:
            raise _Wrong(message + ": it is batch-major (B/N, T); the book's batches are time-major (T, B)",
                         "batch_major", name)
        if value.ndim == 2 and value.shape[0] == shape[0] and value.shape[1] > shape[1]:
            raise _Wrong(message + f": {value.shape[1]} streams, more than this rank's B/N = {shape[1]}; a rank "
                         "holds only its own block of rows", "not_sharded", name)
        raise _Wrong(message, "wrong_shape", name)
    if value.dtype.kind not in "iu":
        raise _Wrong(f"{name} has dtype {value.dtype}; expected integers (character ids)", "wrong_dtype", name)
    return value


def _which_streams(got: np.ndarray, whole: np.ndarray) -> str:
    """``'one-process streams [0, 2, 4]'``: the columns of the one-process chunk that ``got``'s columns equal."""
    found = [next((str(j) for j in range(whole.shape[1]) if np.array_equal(col, whole[:, j])), "?") for col in got.T]
    return f"one-process streams [{', '.join(found)}]"


def _rank_batch_call(fn: Callable[..., Any], args: tuple[Any, ...], where: str) -> tuple[Any, Any]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fn(*args)
    except NotImplementedError:
        raise _Wrong(f"{getattr(fn, '__name__', 'it')} is not implemented yet (it raised NotImplementedError): "
                     "write its body, then run this cell again.", "not_implemented") from None
    except Exception as err:  # the reader's code failed: say where and why, don't raise
        raise _Wrong(f"{getattr(fn, '__name__', 'it')} failed on {where}: it raised {type(err).__name__}: "
                     f"{err}{_where(err, fn)}.", "exception") from None
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        got = f"{len(result)} values" if isinstance(result, (tuple, list)) else given(result)
        raise _Wrong(f"{getattr(fn, '__name__', 'it')} returned {got} on {where}; expected two arrays (x, y)",
                     "wrong_structure")
    return result[0], result[1]


def _check_one(fn: Callable[..., Any], ids: np.ndarray, B: int, T: int, r: int, N: int, k: int,
               where: str) -> tuple[np.ndarray, np.ndarray]:
    name = getattr(fn, "__name__", "it")
    given_ids = ids.copy()
    got = _rank_batch_call(fn, (given_ids, B, T, r, N, k), where)
    if not np.array_equal(given_ids, ids):
        raise _Wrong(f"{name} changed ids in place on {where}: it must only read them.", "modified_input", "ids")
    expected = rank_batch(ids, B, T, r, N, k)
    x, y = (_as_ints(what, value, e.shape) for what, value, e in zip("xy", got, expected))
    wrong = [(what, a, e) for what, a, e in zip("xy", (x, y), expected) if not np.array_equal(a, e)]
    if not wrong:
        return x, y
    what, a, e = wrong[0]
    t, b = (int(i) for i in np.argwhere(a != e)[0])
    lines = [f"{name} is wrong on {where}: {what}[{t}, {b}] is {a[t, b]}, expected {e[t, b]} "
             f"({int((a != e).sum())} of {a.size} entries of {what} differ; {'y' if what == 'x' else 'x'} is "
             f"{'also wrong' if len(wrong) == 2 else 'right'})."]
    whole_x, _ = _one_process(ids, B, T, k)
    lines.append(f"  expected rows {r * (B // N)} to {(r + 1) * (B // N) - 1} of the one-process batch of B={B} "
                 f"streams; your x holds {_which_streams(x, whole_x)}.")
    for mistake in RANK_BATCH_MISTAKES:
        try:
            variant = mistake.compute(ids, B, T, r, N, k)
        except (ValueError, IndexError):
            continue
        if all(variant[what].shape == g.shape and np.array_equal(variant[what], g) for what, g in zip("xy", (x, y))):
            lines.append(f"Likely cause: {mistake.explanation}")
            raise _Wrong("\n".join(lines), mistake.cause, what)
    lines.append("Likely cause: not one of the common mistakes this checker knows; print the streams' start "
                 "positions b * L and the chunk's first step k * T, and compare.")
    raise _Wrong("\n".join(lines), "unknown", what)


def _check_raises(fn: Callable[..., Any], ids: np.ndarray, args: tuple[int, ...], why: str) -> None:
    name = getattr(fn, "__name__", "it")
    call = f"{name}(ids, {', '.join(map(str, args))})"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(ids.copy(), *args)
    except ValueError:
        return
    except NotImplementedError:
        raise _Wrong(f"{name} is not implemented yet (it raised NotImplementedError).", "not_implemented") from None
    except Exception as err:
        raise _Wrong(f"{call} raised {type(err).__name__}: {err}; expected a ValueError: {why}.",
                     "no_value_error") from None
    raise _Wrong(f"{call} returned; expected a ValueError: {why}. Check the arguments first and raise a ValueError "
                 "that names the argument.", "no_value_error")


def check_rank_batch(fn: Callable[..., Any], verbose: bool = True) -> Verdict:
    """Check the reader's ``fn(ids, batch_size, chunk_len, rank, world_size, k) -> (x, y)`` (chapter 13).

    On each case of :data:`~rnnbook.exercises.sharding.RANK_BATCH_CASES` (world sizes 1 to 4), for every rank and
    the first, a middle and the last chunk, ``x`` and ``y`` must equal the reference
    :func:`~rnnbook.exercises.sharding.rank_batch` (exactly, time-major (T, B / N) integers), and the ranks'
    rows side by side must be the one-process batch of :class:`~rnnbook.text.StreamBatcher`. Then ``fn`` must
    raise ``ValueError`` for a batch size that the world size does not divide, and for a rank outside
    ``[0, world_size)``.

    Parameters
    ----------
    fn : callable
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    Verdict
        True if ``fn`` passed; else the first call that was wrong (case, rank, chunk, the first
        differing entry) and the likely mistake (:data:`~rnnbook.exercises.sharding.RANK_BATCH_MISTAKES`).

    Raises
    ------
    TypeError
        If ``fn`` is not callable or cannot take the six arguments.
    """
    check_callable("fn", fn, "the function you wrote, rank_batch(ids, batch_size, chunk_len, rank, world_size, k)")
    name = getattr(fn, "__name__", "it")
    try:
        inspect.signature(fn).bind(*ARGUMENTS)
    except TypeError as err:
        raise TypeError(f"fn must take the arguments ({', '.join(ARGUMENTS)}), like rank_batch; "
                        f"{name}{inspect.signature(fn)} cannot be called that way ({err})") from None
    except ValueError:  # no signature (some builtins): the call itself will tell
        pass
    rng = np.random.default_rng(13)
    n_cases = len(RANK_BATCH_CASES)
    try:
        for n, (size, B, T, N) in enumerate(RANK_BATCH_CASES, start=1):
            ids = rng.integers(0, 1000, size)
            chunks = (size - 1) // B // T
            for k in sorted({0, chunks // 2, chunks - 1}):
                where = f"case {n} of {n_cases} (len(ids)={size}, batch_size={B}, chunk_len={T}, world_size={N})"
                parts = [_check_one(fn, ids, B, T, r, N, k, f"{where}, rank {r}, chunk k={k} of {chunks}")
                         for r in range(N)]
                for what, whole in zip("xy", _one_process(ids, B, T, k)):  # the ranks' rows side by side
                    if not np.array_equal(np.concatenate([p["xy".index(what)] for p in parts], axis=1), whole):
                        raise _Wrong(f"{name} on case {n}, chunk k={k}: the ranks' {what} side by side are not the "
                                     "one-process batch.", "not_one_batch", what)
        ids = rng.integers(0, 1000, 82)
        _check_raises(fn, ids, (6, 4, 0, 4, 0), "6 streams cannot be split evenly over 4 ranks")
        _check_raises(fn, ids, (6, 4, 2, 2, 0), "rank 2 does not exist in a world of 2 ranks (0 and 1)")
        _check_raises(fn, ids, (6, 4, -1, 2, 0), "rank -1 is not a rank (ranks are 0 to world_size - 1)")
    except _Wrong as wrong:
        verdict = Verdict(False, str(wrong), n if wrong.cause != "no_value_error" else n_cases, wrong.cause,
                          wrong.output)
    else:
        verdict = Verdict(True, f"{name} passed: x and y agree with StreamBatcher's rows on all {n_cases} cases "
                          "(world sizes 1 to 4, every rank, first, middle and last chunk), the ranks' rows side by "
                          "side are the one-process batch, and it raises ValueError for a batch size the world "
                          "size does not divide and for a rank out of range.", n_cases)
    if verbose:
        print(verdict.message)
    return verdict


