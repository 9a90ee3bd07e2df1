"""Plain-text documents (contracts): paragraphs with character offsets into the original text.

Offsets are Python ``str`` indices (Unicode code points), so they stay right for non-ASCII text
(langextract users hit byte/char mix-ups there). The original text is kept on the record
(``source_text``) to verify offsets later; it is never rendered as such.
"""

from __future__ import annotations

import os
import re

from .._errors import RecordParseError
from ._record import Record, Section, Value
from ._source import read_source

__all__ = ["parse_text"]

MAX_BYTES = 20 * 1024 * 1024
_PARAGRAPH = re.compile(r"\S(?:.*?\S)?(?=\s*\n\s*\n|\s*\Z)", re.S)


def parse_text(
    source: str | os.PathLike[str],
    *,
    record_id: str | None = None,
    title: str = "document",
    max_bytes: int = MAX_BYTES,
) -> Record:
    """Read a text document (a path, or the text itself when it spans lines).

    Each paragraph (text between blank lines) becomes a :class:`Value` keyed ``p<n>`` with
    pointer ``chars=<start>-<end>``.
    """
    read = read_source(source, record_id=record_id, default_id="text", max_bytes=max_bytes)
    text, rid = read.decoded(), read.record_id
    if not text.strip():
        raise RecordParseError("the document is empty", record_id=rid)
    values = [
        Value(key=f"p{n}", text=m.group(0), pointer=f"chars={m.start()}-{m.end()}")
        for n, m in enumerate(_PARAGRAPH.finditer(text), start=1)
    ]
    return Record(
        record_id=rid, kind="text", sections=[Section(title=title, values=values)], source_text=text
    )
