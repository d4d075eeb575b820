"""TensorFlow imported without its start-up banner.

TensorFlow's native libraries log as they load ("oneDNN custom operations are
on", absl's "All log messages before absl::InitializeLog() is called…")
straight to file descriptor 2, before they read TF_CPP_MIN_LOG_LEVEL. Where
that variable asks for quiet (2 or more, as `roadchief` sets it unless
--verbose), the first import runs with descriptor 2 pointed at a temporary
file, which is written back only if the import fails.
"""
import os
import sys
import tempfile


def import_tensorflow_quietly() -> None:
    level = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0")
    if "tensorflow" in sys.modules or not (level.isdigit() and int(level) >= 2):
        return
    sys.stderr.flush()
    kept = os.dup(2)
    try:
        with tempfile.TemporaryFile() as banner:
            os.dup2(banner.fileno(), 2)
            try:
                import tensorflow  # noqa: F401
            except BaseException:
                os.dup2(kept, 2)
                banner.seek(0)
                os.write(2, banner.read())
                raise
            finally:
                os.dup2(kept, 2)
    finally:
        os.close(kept)
