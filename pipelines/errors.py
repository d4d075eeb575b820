"""What the command line reports as a clear one-line error instead of a traceback."""


class OptionsError(ValueError):
    """One or more flags are wrong; the message lists every problem."""


class RunFailed(RuntimeError):
    """The pipeline failed; no table was changed."""


class OutputBusy(RunFailed):
    """Another roadchief process is writing to the same output folder."""
