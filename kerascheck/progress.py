"""A progress bar on stderr for long runs on a terminal (rich); nothing otherwise."""

from __future__ import annotations

from types import TracebackType
from typing import TextIO

# Runs with fewer files to check finish before a bar would be worth drawing.
MIN_FILES = 50


class ProgressBar:
    """The engine's Progress protocol drawn with rich; removed from the screen when done."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(file=stream),
            transient=True,
        )
        self._task: object = None

    def start(self, total: int, done: int) -> None:
        if total - done >= MIN_FILES:
            self._task = self._progress.add_task("Checking", total=total, completed=done)
            self._progress.start()

    def advance(self) -> None:
        if self._task is not None:
            self._progress.advance(self._task)  # type: ignore[arg-type]

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.stop()
