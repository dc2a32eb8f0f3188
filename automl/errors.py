"""Errors raised for bad user input.

Every error a user can cause is a :class:`AutomlError` (a ``ValueError``), with
one readable message that names the file, row, column, parameter or trial at
fault. The CLI prints the message on one line and exits with code 1 (2 for
usage errors), never a traceback unless ``--debug`` is given.
"""

from __future__ import annotations

import logging

# A library's loggers stay silent unless the application adds a handler (the search adds search.log's);
# without this, Python's last-resort handler would print every warning a second time on stderr.
logging.getLogger("automl").addHandler(logging.NullHandler())


class AutomlError(ValueError):
    """Base class of every error caused by user input or user configuration."""


class DataError(AutomlError):
    """A capture, label or metadata file is missing, malformed or inconsistent."""


class ConfigError(AutomlError):
    """A search space, target profile or command-line parameter is invalid."""


class StudyError(AutomlError):
    """A study or trial asked for does not exist or lacks what is needed."""


def warn(message: str) -> None:
    """Tell the user about something repaired or skipped: one ``warning: …`` line on stderr.

    Also logged (logger ``automl``, level WARNING), so a search's ``search.log`` keeps it.
    """
    import sys

    logging.getLogger("automl").warning(message)
    print(f"warning: {message}", file=sys.stderr, flush=True)


class NothingFits(AutomlError):
    """No trial meets the target's budgets (or a ``--pick`` rule): the CLI exits with code 3."""


class io_path:  # noqa: N801 -- used as a context manager, like contextlib's
    """Context manager naming ``path`` in an OSError raised without a file name.

    ``write``/``fsync`` on an open file raise e.g. ``OSError(28, 'No space
    left on device')`` with no path; inside ``with io_path(path):`` the
    error is re-raised with ``filename=path`` so the CLI's one line names it.
    ``always=True`` also replaces a file name the error has (e.g. a temporary
    file's, when the user should see the file they asked for).
    """

    def __init__(self, path, always: bool = False) -> None:
        self.path = path
        self.always = always

    def __enter__(self) -> "io_path":
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if isinstance(exc, OSError) and (exc.filename is None or self.always) and exc.errno is not None:
            raise type(exc)(exc.errno, exc.strerror, str(self.path)) from exc
        return False
