"""Running a function on every rank of a small process group, for a checker: forked, on the CPU, never hanging.

:func:`run_ranks` forks ``world_size`` worker processes that join one ``torch.distributed`` process group
(the gloo backend, a file store in a temporary folder: no port to find, nothing leaves the machine)
and calls ``target(rank)`` in each. What every rank returned, raised or printed comes back to the caller.

Forking (not spawning) lets the target be a function defined in a notebook, which a spawned process
could not import. The workers run one thread each (the caller's thread pool does not survive a fork),
and their output is captured (a notebook's streams do not work in a forked child; what C++ code such as
gloo writes to the file descriptors 1 and 2 is discarded). Nothing can hang
the caller: collectives time out after ``timeout_s``; the workers are killed a moment after one rank
raised, when the others have not finished ``grace_s`` after one rank did (they wait in a collective it
never called), or at ``timeout_s`` plus start-up.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import os
import shutil
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rnnbook.checks import check_callable, check_positive, check_size

#: Seconds the workers are given to start and join the group, on top of ``timeout_s``.
STARTUP_S = 10.0
#: Seconds the other ranks are given to finish after one rank raised.
ERROR_WAIT_S = 1.0


@dataclass(frozen=True)
class RankResult:
    """What one rank's ``target(rank)`` did.

    Attributes
    ----------
    rank : int
    value : Any
        What it returned (None if it raised).
    error : str or None
        The exception's type name if it raised (e.g. ``"NotImplementedError"``), else None.
    message : str
        The exception's message.
    traceback : str
        The traceback, from the function that ``target`` called (``target``'s own frame if it raised
        itself) down to where it was raised.
    printed : str
        What the rank printed (stdout and stderr).
    """

    rank: int
    value: Any = None
    error: str | None = None
    message: str = ""
    traceback: str = ""
    printed: str = ""


def _worker(target: Callable[[int], Any], rank: int, world_size: int, store: str, timeout_s: float, conn: Any) -> None:
    """One rank, in the forked process: join the group, run ``target(rank)``, send back a RankResult."""
    import torch
    import torch.distributed as dist

    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):  # gloo's C++ log lines would reach the caller's terminal or notebook: silence this process's
        os.dup2(devnull, fd)
    printed = io.StringIO()
    streams = contextlib.ExitStack()
    streams.enter_context(contextlib.redirect_stdout(printed))
    streams.enter_context(contextlib.redirect_stderr(printed))
    try:
        dist.init_process_group("gloo", store=dist.FileStore(store, world_size), rank=rank, world_size=world_size,
                                timeout=datetime.timedelta(seconds=timeout_s))
    except Exception as err:
        conn.send(("setup", f"{type(err).__name__}: {err}"))
        os._exit(0)
    try:
        result = RankResult(rank, target(rank))
    except (Exception, SystemExit) as err:  # the error of the code under test, from its own frame down
        tb = err.__traceback__.tb_next if err.__traceback__ is not None else None  # target's own frame
        tb = tb.tb_next if tb is not None and tb.tb_next is not None else tb   # what target called, if it raised there
        result = RankResult(rank, None, type(err).__name__, str(err),
                            "".join(traceback.format_exception(type(err), err, tb)))
    try:
        try:
            conn.send(("result", RankResult(rank, result.value, result.error, result.message, result.traceback,
                                            printed.getvalue())))
        except Exception as err:  # a return value that cannot be pickled
            conn.send(("result", RankResult(rank, None, type(err).__name__, f"its return value could not be sent "
                                            f"back: {err}", printed=printed.getvalue())))
        if conn.poll(timeout_s):  # leave the group when every rank is done (or the caller gave up)
            conn.recv()
        dist.destroy_process_group()
    finally:
        os._exit(0)  # no atexit handlers, no flushing of the caller's (forked) streams


def _collect(procs: list[Any], conns: list[Any], timeout_s: float, grace_s: float) -> dict[int, RankResult]:
    from multiprocessing.connection import wait

    results: dict[int, RankResult] = {}
    pending = {conn: rank for rank, conn in enumerate(conns)}
    deadline = time.monotonic() + timeout_s + STARTUP_S
    while pending:
        ready = wait(list(pending), timeout=max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        for conn in ready:
            rank = pending.pop(conn)
            value: Any
            try:
                kind, value = conns[rank].recv()
            except EOFError:  # the process ended without sending
                procs[rank].join(1.0)
                value = RankResult(rank, error="ProcessExit", message=f"exit code {procs[rank].exitcode}")
                kind = "result"
            if kind == "setup":
                raise RuntimeError(f"the process group could not start (gloo, {len(procs)} processes on this "
                                   f"machine): {value}")
            results[rank] = value
            # after an error, only a moment for the others (they may wait for it in a collective): the ones
            # that fail too come back, so that the caller can report the lowest rank's error, every time
            wait_s = min(grace_s, ERROR_WAIT_S) if value.error is not None else grace_s
            deadline = min(deadline, time.monotonic() + wait_s)
    return results


def run_ranks(target: Callable[[int], Any], world_size: int = 2, *, timeout_s: float = 30.0,
              grace_s: float = 10.0) -> dict[int, RankResult]:
    """Call ``target(rank)`` on every rank of a fresh gloo process group of ``world_size`` forked processes.

    Inside ``target``, ``torch.distributed`` is initialised (``dist.get_rank()``, ``dist.all_reduce``,
    ...). Its return value must be picklable (NumPy arrays, not tensors that share memory).

    Parameters
    ----------
    target : callable
        ``target(rank)``, run once in each worker process.
    world_size : int, default 2
    timeout_s : float, default 30.0
        The process group's timeout for a collective; the whole run gives up :data:`STARTUP_S`
        seconds after that.
    grace_s : float, default 10.0
        How long the other ranks may take to finish after the first one did.

    Returns
    -------
    dict of int to RankResult
        By rank. A rank missing from it did not finish in time: within ``timeout_s`` plus
        :data:`STARTUP_S`, ``grace_s`` after another rank finished, or :data:`ERROR_WAIT_S` after
        another rank raised (or its process ended without a result: ``error`` ``"ProcessExit"``).
        Every worker has ended (killed if need be) when this returns.

    Raises
    ------
    TypeError, ValueError
        If ``target`` is not callable, ``world_size`` is not a positive int, or a timeout is not positive.
    RuntimeError
        If this system lacks torch.distributed or the "fork" start method (Windows), or the group
        cannot start.
    """
    import multiprocessing

    import torch.distributed as dist

    check_callable("target", target, "a function of the rank")
    world_size = check_size("world_size", world_size)
    timeout_s, grace_s = check_positive("timeout_s", timeout_s), check_positive("grace_s", grace_s)
    if not dist.is_available():
        raise RuntimeError("this build of PyTorch has no torch.distributed")
    try:
        ctx = multiprocessing.get_context("fork")
    except ValueError:
        raise RuntimeError("the workers are started with the 'fork' start method, which this system lacks "
                           "(Windows): run this on Linux or macOS, or in WSL") from None
    folder = tempfile.mkdtemp(prefix="rnnbook-ranks-")
    procs: list[Any] = []
    conns: list[Any] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # "fork() of a multi-threaded process" (Jupyter)
            for rank in range(world_size):
                mine, theirs = ctx.Pipe()
                proc = ctx.Process(target=_worker, daemon=True,
                                   args=(target, rank, world_size, os.path.join(folder, "store"), timeout_s, theirs))
                proc.start()
                theirs.close()
                procs.append(proc)
                conns.append(mine)
        return _collect(procs, conns, timeout_s, grace_s)
    finally:
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.send("done")
        for proc in procs:
            proc.join(2.0)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for conn in conns:
            conn.close()
        shutil.rmtree(folder, ignore_errors=True)
