"""Chapter 13's exercise checkers (rnnbook.exercises.sharding and .distributed): they accept a correct
rank_batch and average_gradients, and name each typical wrong answer.

The reader's functions here are written independently of the checkers' variants: each is a plausible
solution with one mistake, switched on by a keyword. The correct rank_batch is also compared with
rnnbook.text.StreamBatcher directly. check_average_gradients forks two gloo ranks per call (about a
tenth of a second each); the two calls that wait for a hung rank use short timeouts.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import torch.distributed as dist

from rnnbook.exercises import check_average_gradients, check_rank_batch
from rnnbook.exercises import processes
from rnnbook.exercises.sharding import RANK_BATCH_CASES, RANK_BATCH_MISTAKES
from rnnbook.text import StreamBatcher

# --- rank_batch -------------------------------------------------------------------------------------


def rank_batch(ids, batch_size, chunk_len, rank, world_size, k, *, mistake=None):
    """Rank ``rank``'s block of streams, chunk ``k``, column by column, with one optional mistake."""
    B, T, N = batch_size, chunk_len, world_size
    if B % N and mistake != "no_check":
        raise ValueError(f"batch_size {B} is not divisible by world_size {N}")
    if not 0 <= rank < N and mistake not in ("no_check", "no_rank_check"):
        raise ValueError(f"rank must be in [0, {N}), got {rank}")
    per = B // N
    L = (len(ids) - 1) // B
    rows, offset, stride = range(rank * per, (rank + 1) * per), 0, T
    if mistake == "interleaved":
        rows = range(rank, B, N)
    elif mistake == "rank_ignored":
        rows = range(per)
    elif mistake == "local_batch":
        rows, L = range(per), (len(ids) - 1) // per
    elif mistake == "text_split":
        offset, rows = rank * ((len(ids) - 1) // N), range(per)
        L = ((len(ids) - 1) // N) // per
    elif mistake == "off_by_one":
        L = len(ids) // B
    elif mistake == "stride":
        stride = T + 1
    elif mistake == "not_sharded":
        rows = range(B)
    elif mistake == "exception":
        rows = range(per) if 1 / 0 else rows
    elif mistake == "modifies":
        ids[0] = -1
    x = np.empty((T, len(rows)), dtype=ids.dtype)
    y = np.empty_like(x)
    for j, b in enumerate(rows):
        start = offset + b * L + k * stride
        x[:, j], y[:, j] = ids[start: start + T], ids[start + 1: start + T + 1]
    if mistake == "unshifted":
        y = x
    if mistake == "batch_major":
        return x.T, y.T
    if mistake == "float":
        return x.astype(float), y
    if mistake == "list":
        return x.tolist(), y
    if mistake == "unknown":
        return x + 1, y
    return x, y


def rank_batch_quiet(fn):
    return check_rank_batch(fn, verbose=False)


def test_a_correct_rank_batch_passes_and_is_streambatcher_s_block(capsys):
    verdict = check_rank_batch(rank_batch)
    assert verdict.passed and verdict.cases == len(RANK_BATCH_CASES), verdict.message
    assert "passed" in capsys.readouterr().out
    ids = np.random.default_rng(1).integers(0, 50, 101)
    for N in (1, 2, 4):
        for k in range(StreamBatcher(ids, 8, 5).chunks_per_epoch):
            whole = StreamBatcher(ids, 8, 5)
            whole.load_state_dict({"position": k, "epoch": 0})
            x, y, _ = whole.next_batch()
            parts = [rank_batch(ids, 8, 5, r, N, k) for r in range(N)]
            for r, (x_r, y_r) in enumerate(parts):  # each rank's batcher deals that rank's block
                mine = StreamBatcher(ids, 8, 5, rank=r, world_size=N)
                mine.load_state_dict({"position": k, "epoch": 0})
                x_mine, y_mine, _ = mine.next_batch()
                np.testing.assert_array_equal(x_r, x_mine)
                np.testing.assert_array_equal(y_r, y_mine)
            np.testing.assert_array_equal(np.concatenate([p[0] for p in parts], axis=1), x)
            np.testing.assert_array_equal(np.concatenate([p[1] for p in parts], axis=1), y)
    assert check_rank_batch(lambda *a: tuple(map(torch.as_tensor, rank_batch(*a))), verbose=False).passed


@pytest.mark.parametrize("mistake, cause", [
    ("interleaved", "interleaved_rows"), ("rank_ignored", "rank_ignored"), ("local_batch", "local_batch_as_global"),
    ("text_split", "text_split_per_rank"), ("off_by_one", "stream_length_off_by_one"), ("stride", "chunk_stride"),
    ("unshifted", "targets_not_shifted"), ("batch_major", "batch_major"), ("not_sharded", "not_sharded"),
    ("float", "wrong_dtype"), ("list", "wrong_type"), ("exception", "exception"), ("modifies", "modified_input"),
    ("unknown", "unknown"), ("no_check", "no_value_error"), ("no_rank_check", "no_value_error"),
])
def test_wrong_rank_batches_are_diagnosed(mistake, cause):
    verdict = rank_batch_quiet(lambda *a: rank_batch(*a, mistake=mistake))
    assert not verdict.passed and verdict.cause == cause, verdict.message


def test_the_message_says_where_and_what():
    verdict = rank_batch_quiet(lambda *a: rank_batch(*a, mistake="interleaved"))
    assert "case 1 of" in verdict.message and "rank 0" in verdict.message and "chunk k=0" in verdict.message
    assert "one-process streams [0, 2, 4]" in verdict.message and "[r::N]" in verdict.message
    verdict = rank_batch_quiet(lambda *a: rank_batch(*a, mistake="rank_ignored"))
    assert "rank 1" in verdict.message and "one-process streams [0, 1, 2]" in verdict.message
    verdict = rank_batch_quiet(lambda *a: rank_batch(*a, mistake="batch_major"))
    assert "shape (3, 4); expected (T, B/N) = (4, 3)" in verdict.message
    verdict = rank_batch_quiet(lambda *a: rank_batch(*a, mistake="exception"))
    assert "ZeroDivisionError" in verdict.message and "line " in verdict.message
    verdict = rank_batch_quiet(lambda *a: rank_batch(*a, mistake="no_rank_check"))
    assert "(ids, 6, 4, -1, 2, 0)" in verdict.message and "ValueError" in verdict.message


def test_rank_batch_stub_and_bad_arguments():
    def stub(ids, batch_size, chunk_len, rank, world_size, k):
        raise NotImplementedError

    assert rank_batch_quiet(stub).cause == "not_implemented"
    with pytest.raises(TypeError, match="fn must be the function you wrote"):
        check_rank_batch("rank_batch")
    with pytest.raises(TypeError, match=r"fn must take the arguments \(ids, batch_size, chunk_len, rank, world_size, k\)"):
        check_rank_batch(lambda ids, batch_size, chunk_len, k: None)


# --- average_gradients ------------------------------------------------------------------------------


def average_gradients(model, *, mistake=None):
    """Every .grad summed over the ranks and divided by their number, in place; one optional mistake."""
    N = dist.get_world_size()
    params = list(model["lm"].parameters()) if mistake == "some" else list(model.parameters())
    returned = []
    for p in params:
        if p.grad is None:
            if mistake == "break_at_none":
                break
            if mistake == "zeros":
                p.grad = torch.zeros_like(p)
                continue
            if mistake != "no_none_check":
                continue
        g = p.grad.clone() if mistake in ("copy", "returned") else p.grad
        if mistake == "rank0_only" and dist.get_rank() != 0:
            continue
        if mistake != "no_reduce":
            dist.all_reduce(g)
        if mistake == "rebind":
            p.grad = g / N
        elif mistake != "no_divide":
            g /= N
        returned.append(g)
    if mistake == "raises":
        raise ValueError("my own bug")
    return returned if mistake == "returned" else None


def grads_quiet(mistake, **kwargs):
    return check_average_gradients(lambda model: average_gradients(model, mistake=mistake), verbose=False, **kwargs)


@pytest.mark.parametrize("mistake", [None, "rebind"])
def test_a_correct_average_passes(mistake):
    verdict = grads_quiet(mistake)
    assert verdict.passed and verdict.cases == 1, verdict.message


@pytest.mark.parametrize("mistake, cause, says", [
    ("no_divide", "summed_not_averaged", "the sum over the ranks"),
    ("no_reduce", "divided_not_reduced", "this rank's own gradient / 2"),
    ("copy", "grads_unchanged", "not a copy"),
    ("returned", "returned_not_in_place", "it returned list"),
    ("some", "some_parameters_skipped", "not averaged: out.weight, out.bias"),
    ("break_at_none", "some_parameters_skipped", "don't stop there (break or return)"),
    ("zeros", "none_grad_replaced", "unused.weight: had .grad None"),
    ("no_none_check", "none_grad_not_skipped", "if p.grad is None: continue"),
    ("raises", "exception", "ValueError on rank"),
])
def test_wrong_averages_are_diagnosed(mistake, cause, says):
    verdict = grads_quiet(mistake)
    assert not verdict.passed and verdict.cause == cause, verdict.message
    assert says in verdict.message, verdict.message


def test_an_exception_is_reported_with_the_reader_s_traceback():
    verdict = grads_quiet("raises")
    assert "my own bug" in verdict.message and 'raise ValueError("my own bug")' in verdict.message
    assert "in average_gradients" in verdict.message and "_worker" not in verdict.message


def test_ranks_that_wait_forever_are_killed_and_named(monkeypatch):
    verdict = grads_quiet("rank0_only", timeout_s=3.0)
    assert verdict.cause == "collective_mismatch" and "did not finish on rank 0 within 1.5 s" in verdict.message, verdict.message

    def spins(model):
        while True:
            pass

    monkeypatch.setattr(processes, "STARTUP_S", 0.5)
    verdict = check_average_gradients(spins, verbose=False, timeout_s=2.0)
    assert verdict.cause == "timeout" and "killed" in verdict.message, verdict.message


def test_a_rank_that_ends_its_process_is_reported():
    def exits(model):
        if dist.get_rank() == 1:
            os._exit(3)
        average_gradients(model)

    verdict = check_average_gradients(exits, verbose=False)
    assert verdict.cause == "process_exit" and "exit code 3" in verdict.message, verdict.message


def test_average_stub_bad_arguments_and_the_caller_s_random_state():
    def stub(model):
        raise NotImplementedError

    state = torch.random.get_rng_state()
    assert check_average_gradients(stub, verbose=False).cause == "not_implemented"
    assert torch.equal(torch.random.get_rng_state(), state)
    with pytest.raises(TypeError, match="fn must be the function you wrote"):
        check_average_gradients(None)
    with pytest.raises(TypeError, match="fn must take one argument"):
        check_average_gradients(lambda: None)
    with pytest.raises(ValueError, match="timeout_s"):
        check_average_gradients(stub, timeout_s=0)


def test_run_ranks_runs_a_collective_on_every_rank():
    def target(rank):
        t = torch.tensor([float(rank + 1)])
        dist.all_reduce(t)
        print("rank", rank)
        return dist.get_world_size(), float(t)

    results = processes.run_ranks(target, 3, timeout_s=5.0)
    assert {r: res.value for r, res in results.items()} == {0: (3, 6.0), 1: (3, 6.0), 2: (3, 6.0)}
    assert results[2].printed == "rank 2\n" and results[0].error is None
    with pytest.raises(ValueError, match="world_size"):
        processes.run_ranks(target, 0)
    results = processes.run_ranks(lambda rank: lambda: rank, 2, timeout_s=5.0)  # a lambda cannot be pickled
    assert results[0].error is not None and "could not be sent back" in results[0].message


@pytest.mark.parametrize("mistake", RANK_BATCH_MISTAKES, ids=lambda m: m.cause)
def test_each_known_rank_batch_mistake_is_diagnosed_as_itself(mistake):
    def variant(ids, batch_size, chunk_len, rank, world_size, k):
        out = mistake.compute(ids, batch_size, chunk_len, rank, world_size, k)
        return out["x"], out["y"]

    verdict = rank_batch_quiet(variant)
    assert verdict.cause == mistake.cause, verdict.message
