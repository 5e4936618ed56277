"""Runs jobs in a Keras worker process with a time budget per job.

One worker per linting process: it imports TensorFlow once (seconds) and then answers job
after job. A job that overruns its budget, or a worker that dies (out of memory, a crash in
native code), costs only that job: the worker is killed and the next job starts a new one.
A thread could not be stopped in the middle of a TensorFlow kernel; a process can.

The worker is a plain ``python -m kerascheck.dynamic.worker`` subprocess rather than a
multiprocessing child: ``spawn`` would re-import the caller's main module, which breaks any
script that calls the API without a ``__main__`` guard.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

from kerascheck.dynamic.channel import receive, send
from kerascheck.dynamic.jobs import Answer, Job, JobFailed

STARTUP_TIMEOUT = 120.0  # importing TensorFlow takes seconds, more on a loaded machine
INSTALL_HINT = "pip install 'kerascheck[dynamic]'"
_CLOSED = object()


class DynamicUnavailable(Exception):
    """TensorFlow or Keras cannot be imported."""


def _read_all(stream: IO[bytes], replies: queue.Queue[Any]) -> None:
    try:
        while True:
            replies.put(receive(stream))
    except (EOFError, OSError, ValueError):
        replies.put(_CLOSED)


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # Probe models are tiny: one thread each is faster than TensorFlow's default of one per
    # core, and leaves the other cores to the rest of the machine.
    for threads in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        env.setdefault(threads, "1")
    # oneDNN picks its kernels by the CPU's instruction set, so the experiments' numbers
    # would differ in their last bits from one machine to another; TensorFlow's own kernels,
    # compiled for one instruction set, give the same numbers everywhere.
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    # The worker imports kerascheck from wherever this process did (a source tree too).
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


class Worker:
    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._home: str | None = None
        self._replies: queue.Queue[Any] = queue.Queue()
        self._broken: str | None = None
        self.version = ""

    def start(self) -> None:
        """Start the worker unless it runs already (or could not start before)."""
        if self._process is None and self._broken is None:
            self._start()

    def _start(self) -> None:
        # An empty working directory: `python -m` puts it first on sys.path, where a checked
        # project's own keras.py or numpy.py would otherwise shadow the real ones.
        self._home = tempfile.mkdtemp(prefix="kerascheck-worker-")
        process = subprocess.Popen(
            [sys.executable, "-m", "kerascheck.dynamic.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=self._home,
            env=_environment(),
        )
        assert process.stdout is not None
        self._process, self._replies = process, queue.Queue()
        reader = threading.Thread(target=_read_all, args=(process.stdout, self._replies))
        reader.daemon = True
        reader.start()
        try:
            reply = self._replies.get(timeout=STARTUP_TIMEOUT)
        except queue.Empty:
            self.stop()
            self._broken = f"TensorFlow did not start within {STARTUP_TIMEOUT:g} s"
            return
        if reply is _CLOSED:
            reply = ("unavailable", f"the worker exited with code {process.wait()}")
        status, detail = reply
        if status != "ready":
            self.stop()
            raise DynamicUnavailable(f"--dynamic could not import Keras ({detail}); {INSTALL_HINT}")
        self.version = detail

    def run(self, job: Job, timeout: float) -> tuple[Answer, ...] | JobFailed:
        self.start()
        if self._broken is not None:
            return JobFailed(self._broken)
        process = self._process
        assert process is not None and process.stdin is not None
        try:
            send(process.stdin, job)
            reply = self._replies.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            return JobFailed(
                f"the Keras check did not finish within {timeout:g} s (--dynamic-timeout)"
            )
        except OSError:
            reply = _CLOSED
        if reply is _CLOSED:
            self.stop()
            return JobFailed(f"the Keras worker died (exit code {process.poll()})")
        return reply

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()  # the worker's signal to finish
        try:
            process.wait(0.5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self._home is not None:
            shutil.rmtree(self._home, ignore_errors=True)
            self._home = None


_WORKER: Worker | None = None


def shared_worker() -> Worker:
    """The process's worker, started on first use and stopped at exit."""
    global _WORKER
    if _WORKER is None:
        _WORKER = Worker()
        atexit.register(_WORKER.stop)
    return _WORKER
