"""Checkpoints of the one training loop (rnnbook.checkpoint, rnnbook.train.train; chapter 5).

The main test trains a stateful character model for 2N steps in one process, and for N steps,
saving, then N more after loading in a NEW process, and requires the same bits: parameters,
optimiser moments, history, carried state and the next draw of every random generator. Two controls
show that the comparison can fail: resuming without the random states, or without the data
position, gives other bits. The rest checks that bad checkpoints give errors naming what is wrong.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnbook.checkpoint import CheckpointError, read_checkpoint, write_checkpoint
from rnnbook.torch.charlm import CharModel, lm_loss
from rnnbook.train import LoopConfig, RandomBatches, train

ROOT = Path(__file__).resolve().parents[1]

# A run that draws from every random generator a checkpoint must restore: the batch source from its
# own NumPy Generator, NumPy's global generator and Python's `random`; the loss from torch's
# (dropout); the state is carried between chunks; clipping, a schedule and validation are on.
SCRIPT = r"""
import hashlib, random, sys
import numpy as np
import torch
import torch.nn.functional as F
import rnnbook.train
from rnnbook.torch.charlm import CharModel, lm_loss
from rnnbook.train import LoopConfig, train

modes, path, N = sys.argv[1].split(","), sys.argv[2], int(sys.argv[3])
torch.set_num_threads(1)
V, T, B = 11, 8, 4
TEXT = np.random.default_rng(5).integers(0, V, size=2000)
restore_random_states = rnnbook.train.set_random_states

class Source:
    def __init__(self):
        self.rng, self.position = np.random.default_rng(1), 0
    def __iter__(self):
        return self
    def __next__(self):
        start = self.position + int(self.rng.integers(0, 3)) + int(np.random.randint(0, 2)) + random.randrange(2)
        self.position = (self.position + T) % 1500
        window = TEXT[start:start + (T + 1) * B].reshape(B, T + 1).T
        return window[:-1].copy(), window[1:].copy()
    def state_dict(self):
        return {"rng": self.rng.bit_generator.state, "position": self.position}
    def load_state_dict(self, state):
        if mode != "resume-no-data":
            self.rng.bit_generator.state, self.position = state["rng"], state["position"]

def noisy_loss(model, batch, carry):
    loss, carry = lm_loss(model, batch, carry)
    return loss + 0.1 * F.dropout(loss.reshape(1), 0.5, training=model.training).sum(), carry

for mode in modes:  # each from scratch: seeds, model, optimiser, source
    random.seed(0); np.random.seed(0); torch.manual_seed(0)
    model = CharModel(V, 16, "lstm")
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    validation = [(TEXT[:T * B].reshape(T, B), TEXT[1:T * B + 1].reshape(T, B))]
    rnnbook.train.set_random_states = ((lambda states, generators: None) if mode == "resume-no-rng"
                                       else restore_random_states)
    history = train(model, optimizer, noisy_loss, Source(), LoopConfig(N if mode == "first" else 2 * N, max_norm=0.5,
                                                                       eval_every=3),
                    validation=validation, schedule=lambda step: 0.01 / (1 + step),
                    checkpoint=path if mode == "first" else None,
                    resume_from=path if mode.startswith("resume") else None)
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(tensor.numpy().tobytes())
    for state in optimizer.state.values():
        for key in sorted(state):
            digest.update(state[key].numpy().tobytes())
    digest.update(np.array(history.losses + history.grad_norms + history.lrs + history.val_losses).tobytes())
    print(mode, "history", len(history.losses), history.val_steps)
    print(mode, "model", digest.hexdigest())
    print(mode, "next", random.random(), np.random.random(), torch.rand(1).item())
"""


def _run(*jobs: str, path: Path, N: int) -> dict[tuple[str, str], str]:
    """Run SCRIPT once per job (a comma-separated list of modes), concurrently: {(mode, what): value}."""
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, modes, str(path), str(N)], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "OMP_NUM_THREADS": "1"}) for modes in jobs]
    results = {}
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        results.update({tuple(line.split(" ", 2)[:2]): line.split(" ", 2)[2] for line in out.splitlines()})
    return results


@pytest.mark.slow  # three fresh processes that import torch, two at a time: ~15 s on a busy 2-core machine
def test_resuming_in_a_new_process_gives_the_same_bits(tmp_path):
    """2N steps == N steps, save, load in a new process, N more: bit for bit on the CPU."""
    N, path = 7, tmp_path / "run.ckpt"
    r = _run("full", "first", path=path, N=N)
    r.update(_run("resume,resume-no-rng,resume-no-data", path=path, N=N))
    assert r["first", "history"] == "7 [3, 6]"
    assert r["full", "history"] == r["resume", "history"] == "14 [3, 6, 9, 12]"
    assert r["resume", "model"] == r["full", "model"]    # parameters, Adam's moments, history: same bits
    assert r["resume", "next"] == r["full", "next"]      # every random generator continues identically
    assert r["resume-no-rng", "model"] != r["full", "model"] and r["resume-no-rng", "next"] != r["full", "next"]
    assert r["resume-no-data", "model"] != r["full", "model"]  # the controls: the test sees what is restored


def _make_batch(rng):
    """3 steps of 3 streams of a 5-character vocabulary: inputs and the next characters."""
    tokens = rng.integers(0, 5, size=(4, 3))
    return tokens[:-1], tokens[1:]


def _lm_run(tmp_path, hidden=8, optimizer=torch.optim.Adam, steps=2):
    torch.manual_seed(0)
    model = CharModel(5, hidden, "gru")
    source = RandomBatches(_make_batch, seed=0)
    path = tmp_path / "ckpt"
    history = train(model, optimizer(model.parameters(), lr=0.1), lm_loss, source, LoopConfig(steps), checkpoint=path)
    return model, source, path, history


def test_a_checkpoint_records_the_run(tmp_path):
    model, source, path, history = _lm_run(tmp_path)
    saved = read_checkpoint(path)
    assert saved["step"] == 2 and saved["history"]["losses"] == history.losses
    assert saved["data"] == source.state_dict() and saved["optimizer_type"] == "Adam"
    assert all(torch.equal(saved["model"][k], v) for k, v in model.state_dict().items())
    assert saved["carry"].shape == (1, 3, 8) and not saved["carry"].requires_grad
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # no temporary file left behind


def _resume_into(path, hidden=8, optimizer=torch.optim.Adam, steps=3):
    model = CharModel(5, hidden, "gru")
    source = RandomBatches(_make_batch, seed=0)
    return train(model, optimizer(model.parameters(), lr=0.1), lm_loss, source, LoopConfig(steps), resume_from=path)


@pytest.mark.parametrize("damage, message", [
    (lambda raw: raw[:-10], "is truncated or corrupt: its payload has"),
    (lambda raw: raw[:40], "is truncated or corrupt"),
    (lambda raw: raw[:-200] + bytes([raw[-200] ^ 1]) + raw[-199:], "is corrupt: the SHA-256 of its payload differs"),
    (lambda raw: b"PK\x03\x04" + raw[4:], "is not an rnnbook checkpoint: it starts with b'PK"),
    (lambda raw: raw.replace(b"format 1\n", b"format 2\n", 1), "has checkpoint format version 2; this rnnbook reads version 1"),
])
def test_damaged_checkpoints_are_refused_by_name(tmp_path, damage, message):
    _, _, path, _ = _lm_run(tmp_path)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(CheckpointError, match=message):
        _resume_into(path)


def test_mismatched_checkpoints_name_what_differs(tmp_path):
    _, _, path, _ = _lm_run(tmp_path)
    with pytest.raises(CheckpointError, match=r"saved from another model:\n  'recurrent.weight_ih_l0' has shape \(24, 5\) "
                                              r"in the checkpoint, \(48, 5\) in the model"):
        _resume_into(path, hidden=16)
    with pytest.raises(CheckpointError, match="was saved with a Adam optimizer, but a SGD was given"):
        _resume_into(path, optimizer=torch.optim.SGD)
    write_checkpoint(path, {"step": 1, "model": {}})
    with pytest.raises(CheckpointError, match=r"is missing \['optimizer', 'optimizer_type', 'data', 'data_type', 'carry', "
                                              r"'history', 'random'\]"):
        _resume_into(path)
    with pytest.raises(FileNotFoundError):
        _resume_into(path.with_name("nothing here"))


def test_a_failed_save_leaves_the_previous_checkpoint(tmp_path):
    """Atomic writes: a save that fails half-way (here: a value torch cannot pickle) changes nothing."""
    _, _, path, history = _lm_run(tmp_path)
    before = path.read_bytes()
    with pytest.raises(Exception):
        write_checkpoint(path, {"step": 3, "model": lambda: None})
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["ckpt"]
    assert _resume_into(path).losses[:2] == history.losses  # still loads, and continues the run


def test_resuming_continues_where_it_stopped(tmp_path):
    """In one process too: 2 steps, save, 1 more from the checkpoint equals 3 steps straight."""
    _, _, path, _ = _lm_run(tmp_path)
    torch.manual_seed(0)
    straight_model = CharModel(5, 8, "gru")
    source = RandomBatches(_make_batch, seed=0)
    straight = train(straight_model, torch.optim.Adam(straight_model.parameters(), lr=0.1), lm_loss, source, LoopConfig(3))
    torch.manual_seed(1)
    model = CharModel(5, 8, "gru")  # other initial weights: the checkpoint's replace them
    resumed = train(model, torch.optim.Adam(model.parameters(), lr=0.1), lm_loss,
                    RandomBatches(_make_batch, seed=7), LoopConfig(3), resume_from=path)
    assert resumed.losses == straight.losses
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), straight_model.parameters()))


def test_checkpointing_needs_a_source_with_a_position(tmp_path):
    model = CharModel(5, 4, "rnn")
    batches = iter([(np.zeros((2, 1), dtype=int),) * 2] * 3)
    with pytest.raises(TypeError, match="a checkpointed run needs a batch source with state_dict\\(\\) and load_state_dict\\(\\)"):
        train(model, torch.optim.SGD(model.parameters(), lr=0.1), lm_loss, batches, LoopConfig(3), checkpoint=tmp_path / "c")
