"""What the command line reports as a clear one-line error instead of a traceback."""


class OptionsError(ValueError):
    """One or more flags are wrong; the message lists every problem."""


class RunFailed(RuntimeError):
    """The pipeline failed; no table was changed."""


class OutputBusy(RunFailed):
    """Another roadchief process is writing to the same output folder."""


class ObjectStoreError(RuntimeError):
    """The object store of an s3:// output refused a request or could not be reached; the message says why."""
