"""Prompt templates (Jinja2) and the fence that keeps record data apart from instructions.

Templates are looked up first in the user's folders (``template_dirs=`` or the
``STRUCTKIT_TEMPLATE_PATH`` environment variable, ``os.pathsep``-separated), then in structkit's
own ``templates/`` (shipped inside the wheel as ``structkit/templates``).

Record text is wrapped in a fence whose tag is derived from the record's own hash and checked not
to occur inside it, so data cannot close the fence and smuggle instructions outside it.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2

from ._config import env
from ._errors import TemplateError

__all__ = ["builtin_template_dir", "fence", "render_template"]


@functools.cache
def builtin_template_dir() -> Path:
    """structkit's own templates: inside the package when installed, top-level in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise TemplateError(f"structkit's templates folder is missing (looked in {here})")


@functools.lru_cache(maxsize=16)
def _environment(dirs: tuple[str, ...]) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(list(dirs)),
        undefined=jinja2.StrictUndefined,  # a missing variable is an error, not an empty string
        autoescape=False,  # prompts are plain text, not HTML
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _search_path(template_dirs: Sequence[str | os.PathLike[str]] | None) -> tuple[str, ...]:
    dirs = [str(d) for d in template_dirs or ()]
    extra = env("STRUCTKIT_TEMPLATE_PATH")
    if extra:
        dirs.extend(p for p in extra.split(os.pathsep) if p)
    dirs.append(str(builtin_template_dir()))
    return tuple(dirs)


def render_template(
    name: str,
    *,
    template_dirs: Sequence[str | os.PathLike[str]] | None = None,
    **variables: Any,
) -> str:
    """Render template ``name`` (e.g. ``"diagnosis.jinja"``) with ``variables``.

    Raises:
        TemplateError: the template is not found or fails to render.
    """
    dirs = _search_path(template_dirs)
    try:
        return _environment(dirs).get_template(name).render(**variables).strip()
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template {name!r} not found in {list(dirs)}") from exc
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template {name!r} failed to render: {exc}") from exc


def fence(text: str, *, label: str = "RECORD") -> tuple[str, str]:
    """Wrap ``text`` in markers it cannot contain. Returns (fenced text, tag)."""
    salt = 0
    while True:
        digest = hashlib.sha256(f"{salt}:{text}".encode()).hexdigest()[:10]
        tag = f"{label}-{digest}"
        if tag not in text:
            return f"<<<{tag}>>>\n{text}\n<<<END-{tag}>>>", tag
        salt += 1
