"""The one reader of sources: is this a file or inline content, and read it within a size limit.

Every adapter used to decide "path or text?" on its own, with different rules; a missing
``contract.txt`` then became a contract whose only paragraph was the file name. Now one rule
holds everywhere:

- ``bytes`` are content;
- a ``str`` is content when it spans lines or starts like structured data (``<``, ``{``, ``[``,
  ``|``), and a path otherwise; a path that names no readable regular file is an
  :class:`InputError` naming the file (its name only: a one-line string might be content);
- ``os.PathLike`` is always a path.

Files are read with one size limit (``MAX_BYTES`` unless an adapter asks for less), checked before
reading and again after (a pipe or a growing file has no honest size).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from .._errors import InputError, RecordParseError, UnsafeInputError

__all__ = ["MAX_BYTES", "Source", "SourceData", "is_inline_text", "read_source"]

#: The default size limit for any one input, in bytes.
MAX_BYTES = 50 * 1024 * 1024

Source = str | bytes | os.PathLike[str]

_STRUCTURED_START = ("<", "{", "[", "|")


def is_inline_text(source: str) -> bool:
    """Content rather than a path: spans lines, or starts like XML, JSON or a Markdown table."""
    if "\n" in source or "\r" in source:
        return True
    return source.lstrip("\ufeff \t")[:1] in _STRUCTURED_START


@dataclass(frozen=True)
class SourceData:
    """What a source held: ``text`` for inline strings, ``data`` for files and bytes."""

    record_id: str
    text: str | None = None
    data: bytes | None = None
    path: Path | None = None

    def decoded(self, *, encoding: str = "utf-8-sig") -> str:
        """The content as text; bytes must decode with ``encoding`` (error names the byte)."""
        if self.text is not None:
            return self.text.removeprefix("\ufeff")
        assert self.data is not None
        try:
            return self.data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise RecordParseError(
                "not UTF-8 text" if "utf" in encoding.lower() else f"not {encoding} text",
                record_id=self.record_id,
                where=f"byte {exc.start}",
            ) from None


_PATH_SUFFIX = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,7}$")


def _looks_like_path(text: str) -> bool:
    """A file name with a suffix (``contract.txt``) or a path with a separator."""
    return bool(_PATH_SUFFIX.search(text.strip())) or "/" in text or os.sep in text


def _check_size(size: int, max_bytes: int, record_id: str) -> None:
    if size > max_bytes:
        raise UnsafeInputError(
            f"input is larger than {max_bytes} bytes ({size} bytes)", record_id=record_id
        )


def read_source(
    source: Source, *, record_id: str | None, default_id: str, max_bytes: int = MAX_BYTES
) -> SourceData:
    """Read ``source`` (inline text, bytes or a path) within ``max_bytes``.

    ``record_id`` names the record in errors; without it, a file's name is used, else
    ``default_id`` (inline content never becomes an id: it may be patient data).

    Raises:
        RecordParseError: a path that is missing or not a regular file (named by its file name).
        InputError: a file that cannot be read.
        UnsafeInputError: more than ``max_bytes``.
    """
    if isinstance(source, bytes | bytearray):
        rid = record_id or default_id
        _check_size(len(source), max_bytes, rid)
        return SourceData(rid, data=bytes(source))
    if isinstance(source, str) and is_inline_text(source):
        rid = record_id or default_id
        if len(source) > max_bytes:  # cheap first; the encoded size decides
            _check_size(len(source), max_bytes, rid)
        _check_size(len(source.encode("utf-8", "surrogatepass")), max_bytes, rid)
        return SourceData(rid, text=source)
    path = Path(source)
    # A one-line string that does not look like a path may be content (a patient's note):
    # then neither its text nor its "name" is ever put in an error message.
    named = not isinstance(source, str) or _looks_like_path(source)
    rid = record_id or (path.name if named and path.name else default_id)
    if isinstance(source, str) and not source.strip():
        raise RecordParseError("no such file: the source is an empty string", record_id=rid)
    try:
        info = path.stat()
    except (OSError, ValueError):
        if not named:
            raise RecordParseError(
                "the source is neither recognizable content nor an existing file", record_id=rid
            ) from None
        raise RecordParseError(f"no such file: {path.name!r}", record_id=rid) from None
    if not stat.S_ISREG(info.st_mode):
        raise RecordParseError(f"not a regular file: {path.name!r}", record_id=rid)
    _check_size(info.st_size, max_bytes, rid)
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"cannot read {path.name!r}: {exc.strerror}", record_id=rid) from None
    _check_size(len(data), max_bytes, rid)
    return SourceData(rid, data=data, path=path)
