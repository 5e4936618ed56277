"""Record what Keras says while it works: warnings, log records and the exception it raises.

Runs in the worker process only.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable
from typing import TypeVar

from kerascheck.dynamic.jobs import Event, Stage

T = TypeVar("T")

_LOGGERS = ("", "tensorflow", "absl", "keras")
# TensorFlow wraps kernel errors in graph-function noise; the sentence is in the middle.
_TF_PREFIX = re.compile(r"^\{\{function_node [^}]*\}\}\s*")
_TF_SUFFIX = re.compile(r"\s*\[Op:[^\]]*\].*$")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LIMIT = 300


_GRAPH_ERROR = "Graph execution error:"


def _graph_error(message: str) -> str:
    """TensorFlow's error from inside a traced function: its own sentence, which follows a
    traceback of where the failing node was defined (``Incompatible shapes: [32,10] vs.
    [32]``), without the traceback."""
    if not message.startswith(_GRAPH_ERROR):
        return message
    chunks = [chunk.strip() for chunk in message.split("\n\n")[1:]]
    said = [c for c in chunks if c and not c.startswith("Detected at node") and 'File "' not in c]
    return said[-1].split("[[")[0] if said else message


def clean(message: str) -> str:
    text = " ".join(_ANSI.sub("", _graph_error(message)).split())
    text = _TF_SUFFIX.sub("", _TF_PREFIX.sub("", text))
    return text if len(text) <= _LIMIT else text[: _LIMIT - 1] + "…"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Recorder:
    """Runs steps and keeps their events, each once."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.failed: Event | None = None  # the exception of the last step, if any

    def run(self, stage: Stage, step: Callable[[], T], where: int | None = None) -> T | None:
        """The step's result, or None when it raised (the exception is recorded)."""
        handler = _Collect()
        loggers = [logging.getLogger(name) for name in _LOGGERS]
        error: Event | None = None
        result: T | None = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for logger in loggers:
                logger.addHandler(handler)
            try:
                result = step()
            except Exception as exc:  # Keras's own errors are what we came for
                error = Event(stage, "error", type(exc).__name__, clean(str(exc)), where)
            finally:
                for logger in loggers:
                    logger.removeHandler(handler)
        for warning in caught:
            category = warning.category.__name__
            self._add(Event(stage, "warning", category, clean(str(warning.message)), where))
        for record in handler.records:
            level = f"logged {record.levelname}"
            self._add(Event(stage, "warning", level, clean(record.getMessage()), where))
        if error is not None:
            self._add(error)
        self.failed = error
        return result

    def _add(self, event: Event) -> None:
        if event not in self.events:
            self.events.append(event)
