"""The normalized record every adapter produces, with provenance on every value.

A :class:`Record` is a list of :class:`Section`. A section holds either key-value items
(``values``) or a table (``columns`` + ``rows`` of cells). Every value is a :class:`Value` that
remembers where it came from (``pointer``):

- JSON: a JSON Pointer (RFC 6901), e.g. ``/entry/3/resource/valueQuantity/value``
- XML: an XPath from lxml's ``getpath``, e.g. ``/*/*[9]/*[1]/*[3]/*[2]/@value``
- tables: ``row=<n>;col=<name>`` with ``n`` the 1-based data row of the source
- plain text: ``chars=<start>-<end>``, Python string offsets (code points) into the source

Values are kept as exact strings (``"00123"`` stays ``"00123"``, ``"NA"`` stays ``"NA"``): the
record is what the user gave, not what a parser guessed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["Record", "Section", "Value"]


@dataclass(frozen=True)
class Value:
    """One leaf value: ``key`` as shown in prompts, exact ``text``, provenance ``pointer``."""

    key: str
    text: str
    pointer: str


@dataclass
class Section:
    """A titled group of key-value items, or a table."""

    title: str
    values: list[Value] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[Value]] = field(default_factory=list)

    @property
    def is_table(self) -> bool:
        return bool(self.columns)

    def all_values(self) -> Iterator[Value]:
        yield from self.values
        for row in self.rows:
            yield from row


@dataclass
class Record:
    """A parsed input, ready to render into a prompt.

    Attributes:
        record_id: names the record in errors and outputs (never its content).
        kind: which adapter produced it (``json``, ``fhir``, ``xml``, ``ccda``, ``table``).
        sections: the content.
        meta: facts about the whole record, e.g. ``{"currency": "USD", "scale": "millions"}``.
        issues: problems found while reading that did not stop it (e.g. a ragged row).
    """

    record_id: str
    kind: str
    sections: list[Section] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    issues: list[str] = field(default_factory=list)
    source_text: str | None = field(default=None, repr=False)
    """The original text for text records (contracts): offsets point into it. Never rendered."""

    def values(self) -> Iterator[Value]:
        """Every leaf value, in document order."""
        for section in self.sections:
            yield from section.all_values()

    def find(self, text: str) -> list[Value]:
        """Values whose text equals ``text`` (whitespace-trimmed): the basis of grounding."""
        wanted = text.strip()
        return [v for v in self.values() if v.text.strip() == wanted]

    def pointer_of(self, key: str) -> list[str]:
        """Pointers of every value shown under ``key``."""
        return [v.pointer for v in self.values() if v.key == key]

    def with_sections(self, sections: list[Section], *, part: str) -> Record:
        """A copy holding only ``sections`` (used when splitting a record to fit a budget)."""
        return Record(
            record_id=f"{self.record_id}{part}",
            kind=self.kind,
            sections=sections,
            meta=dict(self.meta),
            issues=list(self.issues),
            source_text=self.source_text,
        )
