"""What a long command shows while it works, and how much of the libraries' talk reaches the user.

On a terminal, `Progress` keeps one live line on stderr: the step, a count
(lines read, events written, files, tables) with a bar and the time left where
the total is known, a spinner where it is not, and the time elapsed. When
stderr is not a terminal, or with --verbose (whose logs would tear a live
line), it shows nothing: logs and piped output stay as they were, free of
control characters. The line disappears when the command ends, leaving its
usual summary.
"""
import logging
import os
import sys
import warnings
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress
from rich.text import Text


def set_verbosity(verbose: bool) -> None:
    """--verbose: Beam's logs at INFO, Python warnings, TensorFlow's native logs.

    Without it only roadchief's errors are logged, none of Beam's, and
    TensorFlow's start-up banner is held back (`models.plates.quiet`). Call before TensorFlow is imported.
    """
    if verbose:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, force=True,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("apache_beam").setLevel(logging.NOTSET)
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
        warnings.simplefilter("default")
    else:
        logging.getLogger().setLevel(logging.ERROR)  # roadchief's own faults (a watchlist down) still show
        logging.getLogger("apache_beam").setLevel(logging.CRITICAL)  # a failed run is one line: RunFailed
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        warnings.simplefilter("ignore")


class _Count(ProgressColumn):
    """'1,234 / 5,000 lines', or '1,234 lines' without a total; nothing for a step that counts nothing."""

    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit", "")
        if not unit:
            return Text("")
        done = f"{int(task.completed):,}"
        return Text(f"{done} / {int(task.total):,} {unit}" if task.total is not None else f"{done} {unit}")


class _TimeLeft(TimeRemainingColumn):
    """The time left, only where the step's total is known."""

    def render(self, task: Task) -> Text:
        return Text("") if task.total is None else Text.assemble("left ", super().render(task))


class Progress:
    """One live line for a command's steps, or nothing (see the module)."""

    def __init__(self, live: bool, stream: TextIO | None = None):
        self._display = RichProgress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), _Count(),
            TimeElapsedColumn(), _TimeLeft(),
            console=Console(file=stream or sys.stderr), transient=True,
            redirect_stdout=sys.stdout.isatty()) if live else None  # piped stdout stays where it goes
        self._task: TaskID | None = None

    @classmethod
    def for_user(cls, verbose: bool) -> "Progress":
        return cls(live=sys.stderr.isatty() and not verbose)

    def __enter__(self) -> "Progress":
        if self._display:
            self._display.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, problem: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._display:
            self._display.stop()

    def step(self, description: str, total: int | None = None, unit: str = "") -> None:
        """Begin the next step; `total` of `unit` (lines, files, ...) where it is known."""
        if not self._display:
            return
        if self._task is not None:
            self._display.remove_task(self._task)
        self._task = self._display.add_task(description, total=total, unit=unit)

    def done(self, completed: int) -> None:
        """How many of the step's units are done so far."""
        if self._display and self._task is not None:
            self._display.update(self._task, completed=completed)

    def advance(self, units: int = 1) -> None:
        if self._display and self._task is not None:
            self._display.advance(self._task, units)
