"""Where the firmware templates and runtime live, and the jinja2 environment.

Structure lives in ``firmware/templates/*.jinja``; every value a template
prints goes through a :mod:`automl.export._cgen` helper (the environment's
``finalize`` refuses anything else).
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from automl.errors import AutomlError

from . import _cgen

__all__ = ["firmware_dir", "template_environment"]


def firmware_dir() -> Path:
    """The shipped ``firmware/`` folder (templates, Makefile, C runtime, QEMU start-up): package data.

    Raises:
        AutomlError: if the installation lacks it.
    """
    from automl.resources import shipped

    try:
        return shipped("firmware")
    except FileNotFoundError as exc:
        raise AutomlError(f"the firmware files are missing at {exc.filename!r}; reinstall tinyml-automl") from None


def template_environment() -> jinja2.Environment:
    """A jinja2 environment over ``firmware/templates`` with the ``_cgen`` filters.

    Raises:
        AutomlError: if the templates folder is missing (incomplete checkout).
    """
    templates = firmware_dir() / "templates"
    if not templates.is_dir():
        raise AutomlError(f"firmware templates not found at {str(templates)!r}; reinstall tinyml-automl")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_cgen.finalize,
    )
    env.filters.update(
        c_string=_cgen.c_string,
        c_comment=_cgen.c_comment,
        c_float=_cgen.c_float,
        c_int=_cgen.c_int,
        make_comment=_cgen.make_comment,
        html_comment=_cgen.html_comment,
        md_code=_cgen.md_code,
        plain_float=_cgen.plain_float,
        md_cell=lambda s: _cgen.md_code(s, table=True),
    )
    return env
