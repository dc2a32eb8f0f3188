"""Files the package ships: firmware templates, C runtime, QEMU start-up files, the Makefile, report
templates, search spaces and target profiles.

They live at the repository's top level (``firmware/``, ``reports/``,
``search_spaces/``, where the design puts them); ``automl/resources/<name>``
are symbolic links to those folders, so a source checkout, an editable
install and a wheel (which copies the files as package data, listed in
``pyproject.toml``) all find them here with :mod:`importlib.resources`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def shipped(*parts: str) -> Path:
    """Path of a shipped file or folder, e.g. ``shipped("firmware", "templates")``.

    Raises:
        FileNotFoundError: naming the path if the installation lacks it.
    """
    path = Path(str(resources.files(__name__).joinpath(*parts)))
    if not path.exists():
        raise FileNotFoundError(2, "a file the package ships is missing (an incomplete installation?)", str(path))
    return path
