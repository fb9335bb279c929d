"""Data-parallel training (rnnbook.distributed, rnnbook.train.train under torchrun; chapter 13).

Real jobs: ``torchrun`` starts 1 or 2 CPU processes with the gloo backend and they train the character
model with the one training loop. The tests require that

- 2 processes give the parameters, losses, gradient norms and validation losses of 1 process with the
  same global batch and seed, to floating-point reduction tolerance (float64 and float32), and that
  the comparison can fail (a run with another global batch differs);
- a checkpoint saved by rank 0 of 2 resumes in 1 process, and one saved by 1 resumes in 2, to the
  parameters of the uninterrupted run;
- a worker killed mid-run stops the job with a message naming the rank and the signal (no hang), and
  with ``--max-restarts 1`` torchrun restarts the job, which resumes from the last checkpoint to the
  uninterrupted run's parameters;
- inside a 2-rank group: state gathering and scattering are inverses, an unwrapped model and ranks
  whose batch positions differ are refused with clear errors.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from rnnbook import distributed
from rnnbook.distributed import World, gather_state, init, scatter_state, shard, unwrap, wrap
from rnnbook.text import StreamBatcher

ROOT = Path(__file__).resolve().parents[1]
#: Small and quick: 20 steps of a 32-unit LSTM on 8 global streams of 16 steps, validation every 10.
RUN = ["--steps", "20", "--hidden", "32", "--batch-size", "8", "--chunk-len", "16", "--chars", "20000",
       "--eval-every", "10", "--timeout", "60"]
LAUNCH_TIMEOUT = 180  # seconds: a guard against a hang, far above a run's few seconds


def torchrun(nproc: int, out: Path, *args: str, restarts: int = 0) -> subprocess.CompletedProcess[str]:
    """Run ``torchrun -m rnnbook.distributed`` on ``nproc`` CPU processes; return the finished process."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
               f"--max-restarts={restarts}", "-m", "rnnbook.distributed", "--out", str(out), *RUN, *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=LAUNCH_TIMEOUT)


def finished(nproc: int, out: Path, *args: str, restarts: int = 0) -> dict[str, Any]:
    """Run a job that must succeed; return its result.json with the final parameters under "model"."""
    job = torchrun(nproc, out, *args, restarts=restarts)
    assert job.returncode == 0, job.stdout[-3000:] + job.stderr[-3000:]
    result = json.loads((out / "result.json").read_text())
    result["model"] = torch.load(out / "model.pt", weights_only=True)
    return result


def max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The reference jobs: 1 and 2 processes, float64 and float32, same global batch and seed."""
    base = tmp_path_factory.mktemp("ddp")
    return {f"{dtype}-{n}": finished(n, base / f"{dtype}-{n}", "--dtype", dtype)
            for dtype in ("float64", "float32") for n in (1, 2)}


# --- in-process: the data layout and the argument checks ---------------------------------------------

def test_shard_is_the_contiguous_block_of_each_rank() -> None:
    assert [shard(12, r, 3) for r in range(3)] == [slice(0, 4), slice(4, 8), slice(8, 12)]
    assert shard(5, 0, 1) == slice(0, 5)
    with pytest.raises(ValueError, match="n must be divisible by world_size=4.*got 6"):
        shard(6, 0, 4)
    with pytest.raises(ValueError, match="rank"):
        shard(8, 2, 2)
    with pytest.raises(TypeError, match="world_size"):
        shard(8, 0, 2.0)


@pytest.mark.parametrize("world_size", [1, 2, 3, 6])
def test_stream_batcher_ranks_deal_the_rows_of_the_one_process_batch(world_size: int) -> None:
    ids = np.random.default_rng(0).integers(0, 30, size=1000)
    whole = StreamBatcher(ids, 6, 7)
    ranks = [StreamBatcher(ids, 6, 7, rank=r, world_size=world_size) for r in range(world_size)]
    assert all(r.chunks_per_epoch == whole.chunks_per_epoch for r in ranks)
    for _ in range(whole.chunks_per_epoch + 2):  # past the end of a pass: reset comes back on every rank
        x, y, reset = whole.next_batch()
        parts = [r.next_batch() for r in ranks]
        assert np.array_equal(np.concatenate([p[0] for p in parts], axis=1), x)
        assert np.array_equal(np.concatenate([p[1] for p in parts], axis=1), y)
        assert all(p[2] == reset for p in parts)
        assert all(r.state_dict() == whole.state_dict() for r in ranks)  # one position for a checkpoint


def test_each_ranks_streams_stay_contiguous_in_the_text() -> None:
    ids = np.arange(401)  # the ids are their own offsets
    rank1 = StreamBatcher(ids, 4, 10, rank=1, world_size=2)  # streams 2 and 3 of 4, 100 steps each
    first = rank1.next_batch()[0]
    second = rank1.next_batch()[0]
    assert first[0].tolist() == [200, 300]                        # where the rank's streams start
    assert np.array_equal(second[0], first[-1] + 1)              # the next chunk continues each stream


def test_stream_batcher_rejects_a_bad_split() -> None:
    ids = np.arange(100)
    with pytest.raises(ValueError, match="batch_size must be divisible by world_size=4.*got 6"):
        StreamBatcher(ids, 6, 5, rank=0, world_size=4)
    with pytest.raises(ValueError, match="rank"):
        StreamBatcher(ids, 4, 5, rank=2, world_size=2)
    with pytest.raises(TypeError, match="world_size"):
        StreamBatcher(ids, 4, 5, world_size="2")


def test_init_without_torchrun_is_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in distributed.TORCHRUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    world = init(device="cpu")
    assert world == World(0, 1, 0, torch.device("cpu"), None) and world.is_main
    assert not torch.distributed.is_initialized()
    with pytest.raises(ValueError, match="backend must be 'gloo', 'nccl' or None, got 'mpi'"):
        init("mpi")
    with pytest.raises(ValueError, match="device must be"):
        init(device="tpu")
    with pytest.raises(ValueError, match="timeout_s"):
        init(timeout_s=0)


def test_init_rejects_inconsistent_ranks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ValueError, match=r"RANK must be in \[0, WORLD_SIZE=2\), got 2"):
        init(device="cpu")
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(ValueError, match="must be integers"):
        init(device="cpu")


def test_one_process_wrap_and_states_are_identities() -> None:
    world = World(0, 1, 0, torch.device("cpu"), None)
    model = nn.Linear(2, 3)
    assert wrap(model, world) is model and unwrap(model) is model
    h, c = torch.randn(1, 4, 3), torch.randn(1, 4, 3)
    assert torch.equal(gather_state((h, c), world)[0], h) and torch.equal(scatter_state((h, c), world)[1], c)
    assert gather_state(None, world) is None
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        wrap("model", world)
    with pytest.raises(TypeError, match="world must be an rnnbook.distributed.World"):
        wrap(model, 2)
    with pytest.raises(RuntimeError, match="call rnnbook.distributed.init"):
        wrap(model, World(0, 2, 0, torch.device("cpu"), "gloo"))
    with pytest.raises(ValueError, match="global batch of 3 rows, not divisible by world_size=2"):
        scatter_state(torch.zeros(1, 3, 5), World(0, 2, 0, torch.device("cpu"), "gloo"))
    with pytest.raises(TypeError, match="state must be None, a tensor or a tuple of tensors"):
        scatter_state([1, 2], world)
    with pytest.raises(ValueError, match="batch on dim 1"):
        scatter_state(torch.zeros(4), world)


def test_main_runs_in_one_process_without_torchrun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in distributed.TORCHRUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    result = distributed.main(["--out", str(tmp_path), *RUN, "--steps", "4", "--eval-every", "2"])
    assert result is not None and result["world_size"] == 1 and result["steps"] == 4
    assert len(result["val_losses"]) == 2 and result["chars_per_second"] > 0
    assert json.loads((tmp_path / "result.json").read_text())["losses"] == result["losses"]


# --- real jobs under torchrun -------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("dtype, tolerance", [("float64", 1e-12), ("float32", 1e-5)])
def test_two_processes_train_the_parameters_of_one(runs: dict[str, dict[str, Any]], dtype: str,
                                                   tolerance: float) -> None:
    one, two = runs[f"{dtype}-1"], runs[f"{dtype}-2"]
    assert (one["world_size"], two["world_size"], one["steps"], two["steps"]) == (1, 2, 20, 20)
    assert max_difference(one["model"], two["model"]) < tolerance
    for key in ("losses", "grad_norms", "val_losses"):
        np.testing.assert_allclose(two[key], one[key], rtol=tolerance, atol=0, err_msg=key)
    assert one["losses"][-1] < one["losses"][0] - 0.5  # it did learn: the comparison is not of two idle models


@pytest.mark.slow
@pytest.mark.parametrize("change", [["--batch-size", "4"], ["--comm", "none"]], ids=["other-batch", "no-allreduce"])
def test_the_parity_comparison_can_fail(runs: dict[str, dict[str, Any]], tmp_path: Path, change: list[str]) -> None:
    """Another global batch (4 streams on 2 ranks, not 8), or DDP without its gradient all-reduce (each
    replica steps on its own half), trains other parameters: the check above has teeth."""
    other = finished(2, tmp_path, "--dtype", "float64", *change)
    assert max_difference(other["model"], runs["float64-1"]["model"]) > 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("before, after", [(2, 1), (1, 2)])
def test_a_checkpoint_resumes_on_another_number_of_processes(runs: dict[str, dict[str, Any]], tmp_path: Path,
                                                             before: int, after: int) -> None:
    checkpoint = str(tmp_path / "run.ckpt")
    half = finished(before, tmp_path / "half", "--dtype", "float64", "--steps", "10", "--checkpoint", checkpoint)
    assert half["steps"] == 10
    rest = finished(after, tmp_path / "rest", "--dtype", "float64", "--checkpoint", checkpoint, "--resume")
    assert (rest["world_size"], rest["resumed_from_step"], rest["steps"]) == (after, 10, 20)
    reference = runs["float64-1"]
    assert max_difference(rest["model"], reference["model"]) < 1e-12
    np.testing.assert_allclose(rest["losses"], reference["losses"], rtol=1e-12)
    np.testing.assert_allclose(rest["val_losses"], reference["val_losses"], rtol=1e-12)


@pytest.mark.slow
def test_a_dead_worker_stops_the_job_with_a_clear_message(tmp_path: Path) -> None:
    job = torchrun(2, tmp_path, "--dtype", "float64", "--checkpoint", str(tmp_path / "run.ckpt"),
                   "--checkpoint-every", "5", "--fail-at", "12", "--fail-rank", "1")  # no hang: timeout guards
    log = job.stdout + job.stderr
    assert job.returncode != 0
    assert "rank      : 1 (local_rank: 1)" in log and "Signal 9 (SIGKILL)" in log  # torchrun names the dead rank
    # The survivor, rank 0, either notices the lost peer first and says so, or is stopped by the agent
    # (SIGTERM) before its collective fails: which comes first is a race.
    said = "rank 0 of 2 lost contact with the other ranks during step 13 (12 completed)" in log
    assert said or "Signal 15 (SIGTERM) received" in log, log[-3000:]
    if said:
        assert "rerun with --resume" in log
    assert not (tmp_path / "result.json").exists()


@pytest.mark.slow
def test_an_elastic_restart_resumes_from_the_last_checkpoint(runs: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    result = finished(2, tmp_path, "--dtype", "float64", "--checkpoint", str(tmp_path / "run.ckpt"),
                      "--checkpoint-every", "5", "--resume", "--fail-at", "12", "--fail-rank", "1", restarts=1)
    assert (result["restart_count"], result["resumed_from_step"], result["steps"]) == (1, 10, 20)
    assert max_difference(result["model"], runs["float64-1"]["model"]) < 1e-12


# Checks that need a group of 2 ranks, in one torchrun job.
GROUP_CHECKS = r"""
import numpy as np, torch
from torch import nn
import rnnbook.train as T
from rnnbook import distributed as D

world = D.init(device="cpu", timeout_s=60)
r = world.rank
# gather_state puts the ranks' rows in rank order; scatter_state takes them back
h = torch.full((1, 2, 3), float(r)); c = h + 10
H, C = D.gather_state((h, c), world)
assert H.shape == (1, 4, 3) and H[0, :, 0].tolist() == [0, 0, 1, 1] and torch.equal(C, H + 10)
back = D.scatter_state((H, C), world)
assert torch.equal(back[0], h) and torch.equal(back[1], c)
assert D.mean_over_ranks(torch.tensor(float(r)), world).item() == 0.5
# the loop refuses a model that is not wrapped: each rank would train its own replica
model = nn.Linear(2, 1)
loss_fn = lambda m, b, carry: ((m(b) ** 2).mean(), None)
batches = iter([torch.ones(3, 2)] * 5)
try:
    T.train(model, torch.optim.SGD(model.parameters(), lr=0.1), loss_fn, batches, T.LoopConfig(steps=2))
    raise SystemExit("an unwrapped model was accepted")
except ValueError as err:
    assert "not wrapped in DistributedDataParallel" in str(err), err
# and a checkpoint of ranks whose batch positions differ (they could not all resume from one file)
ddp = D.wrap(nn.Linear(2, 1), world)
source = T.RandomBatches(lambda rng: torch.ones(3, 2), seed=r)
source.rng = np.random.default_rng(r)
source.make_batch = lambda rng: torch.full((3, 2), float(rng.integers(5)))
try:
    T.train(ddp, torch.optim.SGD(ddp.parameters(), lr=0.1), loss_fn, source, T.LoopConfig(steps=2),
            checkpoint=__import__("sys").argv[1])
    raise SystemExit("ranks with different positions were checkpointed")
except ValueError as err:
    assert "state_dict() differs between ranks" in str(err), err
print(f"rank {r}: group checks passed")
D.close()
"""


@pytest.mark.slow
def test_collectives_and_refusals_inside_a_group_of_two(tmp_path: Path) -> None:
    script = tmp_path / "group_checks.py"
    script.write_text(GROUP_CHECKS)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    job = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                          str(script), str(tmp_path / "never.ckpt")], capture_output=True, text=True, env=env,
                         timeout=LAUNCH_TIMEOUT)
    assert job.returncode == 0, job.stdout[-3000:] + job.stderr[-3000:]
    assert "rank 0: group checks passed" in job.stdout and "rank 1: group checks passed" in job.stdout
    assert not (tmp_path / "never.ckpt").exists()


@pytest.mark.skipif(not torch.cuda.is_available() or torch.cuda.device_count() < 2, reason="needs 2 CUDA GPUs")
def test_two_gpus_train_the_parameters_of_one(tmp_path: Path) -> None:
    one = finished(1, tmp_path / "one", "--dtype", "float64", "--device", "cuda")
    two = finished(2, tmp_path / "two", "--dtype", "float64", "--device", "cuda")
    assert two["backend"] == "nccl" and max_difference(one["model"], two["model"]) < 1e-10
