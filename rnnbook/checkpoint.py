"""Checkpoints of a training run (chapter 5): everything needed to resume it bit for bit.

A checkpoint of :func:`rnnbook.train.train` holds the model's and the optimiser's state dicts, the
step reached, the position of the batch source (its ``state_dict()``), the state carried between
chunks, the history so far, and every random state: Python's ``random``, NumPy's global generator,
any NumPy ``Generator`` handed to the loop, torch's CPU generator and every CUDA device's. So
training 2N steps gives the same bits on the CPU as training N, saving, loading in a new process
and training N more (``tests/test_checkpoint.py`` checks it across processes).

The file is written atomically (a temporary file in the same folder, flushed to disk, then renamed
over the target), so a crash while saving leaves the previous checkpoint intact. Its layout::

    rnnbook checkpoint\\n                  magic line: not some other file
    format 1\\n                            the layout version this module reads
    sha256 <64 hex digits> <length>\\n     of the payload: a truncated or corrupt file is caught
    <payload>                             torch.save of a dict of tensors and plain Python values

Loading uses ``torch.load(weights_only=True)``: a checkpoint cannot run code. NumPy arrays in a
batch source's state are stored as plain lists (with their dtype) for that reason.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rnnbook.checks import given, require_torch

require_torch("rnnbook.checkpoint")  # a clear ImportError if torch is missing

import torch

MAGIC = b"rnnbook checkpoint\n"
FORMAT_VERSION = 1
KEYS = ("step", "model", "optimizer", "optimizer_type", "data", "data_type", "carry", "history", "random")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: not one, corrupt or truncated, another format version, or
    saved from a model, optimiser or batch source that differs from the one it is loaded into."""


def _plain(value: Any) -> Any:
    """``value`` with every NumPy array and scalar made plain Python (for ``weights_only`` loading)."""
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def _unplain(value: Any) -> Any:
    """The inverse of :func:`_plain`."""
    if isinstance(value, Mapping):
        if "__ndarray__" in value:
            return np.array(value["__ndarray__"], dtype=np.dtype(value["dtype"])).reshape(value["shape"])
        return {k: _unplain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_unplain(v) for v in value)
    return value


def random_states(generators: Mapping[str, np.random.Generator] | None = None) -> dict[str, Any]:
    """Every random state of this process: ``random``, NumPy's global generator, torch's CPU and
    CUDA generators, and the NumPy ``generators`` given (by name)."""
    states: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": _plain(np.random.get_state(legacy=True)),
        "torch_cpu": torch.get_rng_state(),
        "torch_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "generators": {name: _plain(g.bit_generator.state) for name, g in (generators or {}).items()},
    }
    return states


def set_random_states(states: Mapping[str, Any], generators: Mapping[str, np.random.Generator] | None = None) -> None:
    """Restore what :func:`random_states` returned (into ``generators`` for the named NumPy ones).

    Raises
    ------
    CheckpointError
        If the named generators differ from those saved, or the saved CUDA states are for another
        number of GPUs than this machine has.
    """
    generators = dict(generators or {})
    saved = states["generators"]
    if set(saved) != set(generators):
        raise CheckpointError(f"the checkpoint has NumPy generators {sorted(saved)}, but {sorted(generators)} were given")
    cuda = list(states["torch_cuda"])
    if cuda and (not torch.cuda.is_available() or torch.cuda.device_count() != len(cuda)):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        raise CheckpointError(f"the checkpoint holds the random states of {len(cuda)} CUDA device(s), "
                              f"this machine has {count}")
    python = states["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))
    np.random.set_state(_unplain(states["numpy"]))
    torch.set_rng_state(states["torch_cpu"])
    if cuda:
        torch.cuda.set_rng_state_all(cuda)
    for name, g in generators.items():
        g.bit_generator.state = _unplain(saved[name])


def write_checkpoint(path: str | os.PathLike[str], payload: Mapping[str, Any]) -> Path:
    """Write ``payload`` (tensors and plain Python values) to ``path`` atomically, in the layout above.

    Returns
    -------
    Path
        Where it was written.
    """
    path = Path(path)
    buffer = io.BytesIO()
    torch.save({"format": FORMAT_VERSION, **_plain(dict(payload))}, buffer)
    data = buffer.getvalue()
    header = MAGIC + f"format {FORMAT_VERSION}\nsha256 {hashlib.sha256(data).hexdigest()} {len(data)}\n".encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(header + data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows: readers see the old file or the new one
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and verify a file written by :func:`write_checkpoint`; return its payload (on the CPU).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    CheckpointError
        If it is not an rnnbook checkpoint, has another format version, or its payload does not
        match the SHA-256 in its header (truncated or corrupt), or cannot be unpickled.
    """
    path = Path(path)
    raw = path.read_bytes()
    if not raw.startswith(MAGIC):
        raise CheckpointError(f"{path} is not an rnnbook checkpoint: it starts with {raw[:len(MAGIC)]!r}, "
                              f"expected {MAGIC!r}")
    lines = raw[len(MAGIC):].split(b"\n", 2)
    if len(lines) < 3 or not lines[0].startswith(b"format ") or not lines[1].startswith(b"sha256 "):
        raise CheckpointError(f"{path} is truncated or corrupt: its header is incomplete")
    version = lines[0][len(b"format "):].decode(errors="replace")
    if version != str(FORMAT_VERSION):
        raise CheckpointError(f"{path} has checkpoint format version {version}; "
                              f"this rnnbook reads version {FORMAT_VERSION}")
    try:
        digest, length = lines[1][len(b"sha256 "):].decode().split()
        expected_length = int(length)
    except ValueError:
        raise CheckpointError(f"{path} is truncated or corrupt: its header is unreadable") from None
    data = lines[2]
    if len(data) != expected_length:
        raise CheckpointError(f"{path} is truncated or corrupt: its payload has {len(data)} bytes, "
                              f"the header says {expected_length}")
    if hashlib.sha256(data).hexdigest() != digest:
        raise CheckpointError(f"{path} is corrupt: the SHA-256 of its payload differs from the one in its header")
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure is a bad checkpoint
        raise CheckpointError(f"{path} cannot be read: {type(err).__name__}: {err}") from None
    missing = [k for k in KEYS if k not in payload]
    if missing:
        raise CheckpointError(f"{path} is missing {missing} (it has {sorted(payload)})")
    return {k: (_unplain(v) if k in ("data", "history") else v) for k, v in payload.items()}


def check_model_state(path: Path | str, saved: Mapping[str, Any], current: Mapping[str, Any]) -> None:
    """Raise :class:`CheckpointError` naming every parameter whose presence or shape differs."""
    problems = [f"missing from the checkpoint: {name!r} {tuple(current[name].shape)}" for name in current if name not in saved]
    problems += [f"not in the model: {name!r} {tuple(saved[name].shape)}" for name in saved if name not in current]
    problems += [f"{name!r} has shape {tuple(saved[name].shape)} in the checkpoint, {tuple(current[name].shape)} in the model"
                 for name in current if name in saved and tuple(saved[name].shape) != tuple(current[name].shape)]
    if problems:
        raise CheckpointError(f"{path} was saved from another model:\n  " + "\n  ".join(problems))


def to_device(value: Any, device: torch.device) -> Any:
    """``value`` (a tensor, a tuple or list of them, or None) moved to ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, (tuple, list)):
        return type(value)(to_device(v, device) for v in value)
    return value


def check_carry(value: Any) -> Any:
    """The carried state must be None, a tensor or a tuple of tensors (what a recurrent layer returns)."""
    if value is None or isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)) and all(isinstance(v, torch.Tensor) for v in value):
        return value
    raise TypeError(f"the state carried between batches must be None, a tensor or a tuple of tensors, got {given(value)}")
