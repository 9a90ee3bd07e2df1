"""HL7 C-CDA documents: sections become sections, entries coded values with units; negated and
planned entries are marked. Works on a tree built by the hardened parser (``_xml_safe``)."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from ._ccda_codes import (
    CODE_SYSTEMS,
    DETAIL_WORDS,
    NULL_FLAVORS,
    PLANNED_MOODS,
    ROLES,
    SECTION_KINDS,
    STATEMENT_KINDS,
    TYPE_CODES,
    WRAPPER_CODES,
)
from ._record import Record, Section, Value
from ._xml_safe import _elements, _local, _own_text, _Paths, _squeeze

_V3 = "urn:hl7-org:v3"
_NS = {"v3": _V3}
_CLINICAL_DOCUMENT = f"{{{_V3}}}ClinicalDocument"
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_NARRATIVE_LIMIT = 1000
_NESTED_LIMIT = 3

# Narrative elements that start a new line, and table cells.
_BLOCKS = frozenset(
    {"paragraph", "tr", "item", "br", "caption", "list", "table", "thead", "tbody", "tfoot"}
)
_CELLS = frozenset({"td", "th"})


def _v3(element: etree._Element, path: str) -> etree._Element | None:
    return element.find(path, _NS)


def _v3_all(element: etree._Element, path: str) -> list[etree._Element]:
    return element.findall(path, _NS)


def _code_only(code: etree._Element) -> str:
    """``codeSystemName code`` (the OID only when it is a known system: a bare OID is noise)."""
    value = code.get("code") or ""
    system = code.get("codeSystemName") or CODE_SYSTEMS.get(code.get("codeSystem") or "", "")
    return f"{system} {value}".strip() if value else ""


def _null_text(flavor: str) -> str:
    return f"no value ({NULL_FLAVORS.get(flavor, flavor)})"


def _narrative(element: etree._Element) -> str:
    """Narrative ``<text>`` as plain lines; table cells separated by ``|``."""
    pieces: list[str] = []
    _narrative_pieces(element, pieces)
    lines = []
    for raw in "".join(pieces).split("\n"):
        line = _squeeze(raw)
        line = line[1:].strip() if line.startswith("|") else line
        if line:
            lines.append(line)
    return "\n".join(lines)


def _narrative_pieces(element: etree._Element, pieces: list[str]) -> None:
    # Line breaks in the source are layout; only block elements start a new line.
    local = _local(element.tag)
    if local in _BLOCKS:
        pieces.append("\n")
    elif local in _CELLS:
        pieces.append(" | ")
    pieces.append(" ".join((element.text or "").splitlines()))
    for child in _elements(element):
        _narrative_pieces(child, pieces)
        pieces.append(" ".join((child.tail or "").splitlines()))
    if local in _BLOCKS:
        pieces.append("\n")


def _quantity(element: etree._Element) -> str:
    """``value unit`` of a physical quantity, both exactly as written."""
    value = element.get("value")
    if value is None:
        return _null_text(element.get("nullFlavor") or "NI")
    unit = element.get("unit")
    # UCUM "1" means "no unit"; printing it would read as a second number.
    return f"{value} {unit}" if unit and unit != "1" else value


def _range_text(low: etree._Element | None, high: etree._Element | None) -> str:
    parts = [
        f"{word} {_quantity(end)}"
        for word, end in (("from", low), ("to", high))
        if end is not None and end.get("value") is not None
    ]
    return " ".join(parts) or "no value"


Detail = tuple[str, str, etree._Element, str | None]  # (word, text, element, attribute)


def _time_details(stmt: etree._Element) -> Iterator[Detail]:
    """Times of an item: a point, an interval's start and end, a dosing period."""
    for time in _v3_all(stmt, "v3:effectiveTime"):
        if time.get("value"):
            yield "time", time.get("value") or "", time, "value"
        for path, word in (("v3:low", "start"), ("v3:high", "end"), ("v3:center", "time")):
            point = _v3(time, path)
            if point is not None and point.get("value"):
                yield word, point.get("value") or "", point, "value"
        period = _v3(time, "v3:period")
        if period is not None and period.get("value"):
            yield "every", _quantity(period), period, None


def _status_details(stmt: etree._Element) -> Iterator[Detail]:
    status = _v3(stmt, "v3:statusCode")
    if status is not None and status.get("code"):
        yield "status", status.get("code") or "", status, "code"


def _qualifiers(stmt: etree._Element) -> str:
    """`` (negated)``, `` (planned)``: what turns a statement into its opposite or a plan."""
    words = []
    if stmt.get("negationInd") == "true":
        words.append("negated")
    if stmt.get("moodCode") in PLANNED_MOODS:
        words.append("planned")
    return f" ({', '.join(words)})" if words else ""


def _subject(stmt: etree._Element) -> etree._Element | None:
    """The code of what the item is about: a medication's drug, an allergy's substance."""
    for path in (
        "v3:consumable/v3:manufacturedProduct/v3:manufacturedMaterial/v3:code",
        "v3:consumable/v3:manufacturedProduct/v3:manufacturedLabeledDrug/v3:code",
        "v3:product/v3:manufacturedProduct/v3:manufacturedMaterial/v3:code",
        "v3:participant[@typeCode='CSM']/v3:participantRole/v3:playingEntity/v3:code",
    ):
        found = _v3(stmt, path)
        if found is not None:
            return found
    return None


def _statements(parent: etree._Element, path: str) -> Iterator[etree._Element]:
    """Clinical statements (observation, act, ...) held by the ``path`` children of parent."""
    for holder in _v3_all(parent, path):
        for child in _elements(holder):
            if _local(child.tag) in STATEMENT_KINDS:
                yield child


class _Entries:
    """Turns the entries of one C-CDA section into values (allowlist: no names, ids, addresses).

    Each entry item is named by its concept: ``Problem``, ``Medication``, ``Result: Hemoglobin``;
    its details follow under ``<item>, status``, ``<item>, start`` and so on.
    """

    def __init__(self, paths: _Paths, narrative_ids: dict[str, etree._Element]) -> None:
        self.paths = paths
        self.ids = narrative_ids
        self.values: list[Value] = []
        # Details a panel already gave (its time, its status), not repeated for each member.
        self.inherited: frozenset[tuple[str, str]] = frozenset()

    # -- building blocks

    def add(self, key: str, text: str, element: etree._Element, attr: str | None = None) -> None:
        if not text:  # an uncoded, unnamed concept says nothing
            return
        pointer = self.paths.attr(element, attr) if attr else self.paths.of(element)
        self.values.append(Value(key=key, text=text, pointer=pointer))

    def details(self, item: str, details: Iterator[Detail]) -> None:
        for word, text, element, attr in details:
            if (word, text) not in self.inherited:
                self.add(f"{item}, {word}", text, element, attr)

    def name(self, code: etree._Element) -> str:
        """Short human name of a coded concept: displayName, original text, translation, code."""
        display = code.get("displayName")
        if display and display.strip():
            return display.strip()
        original = _v3(code, "v3:originalText")
        text = self.original_text(original) if original is not None else ""
        if text:
            return text
        for translation in _v3_all(code, "v3:translation"):
            display = translation.get("displayName")
            if display and display.strip():
                return display.strip()
        return code.get("code") or ""

    def original_text(self, original: etree._Element) -> str:
        """The text, or the narrative it references (``<reference value="#id"/>``)."""
        text = _squeeze(_own_text(original))
        reference = _v3(original, "v3:reference")
        if text or reference is None:
            return text
        target = self.ids.get((reference.get("value") or "").lstrip("#"))
        return _squeeze(_own_text(target)) if target is not None else ""

    def concept(self, code: etree._Element) -> str:
        """``displayName (codeSystemName code)``, or what part of it there is."""
        name = self.name(code)
        flavor = code.get("nullFlavor")
        if code.get("code") is None and flavor and not name:
            return _null_text(flavor)
        system = _code_only(code)
        if name and system and name != code.get("code"):
            return f"{name} ({system})"
        return system or name

    def value_text(self, value: etree._Element) -> str:
        """Text of an observation ``<value>`` by its data type, exact value and unit kept."""
        xsi_type = (value.get(_XSI_TYPE) or "").rsplit(":", 1)[-1]
        if value.get("code") is not None or xsi_type in ("CD", "CE", "CV", "CO", "CS"):
            return self.concept(value)
        low, high = _v3(value, "v3:low"), _v3(value, "v3:high")
        if low is not None or high is not None:
            return _range_text(low, high)
        numerator, denominator = _v3(value, "v3:numerator"), _v3(value, "v3:denominator")
        if numerator is not None and denominator is not None:
            return f"{_quantity(numerator)} / {_quantity(denominator)}"
        if value.get("value") is not None:
            return _quantity(value)
        text = _squeeze(_own_text(value))
        return text or _null_text(value.get("nullFlavor") or "NI")

    # -- entries

    def statement(self, stmt: etree._Element, kind: str) -> str | None:
        """One entry item (also each item inside an organizer or a concern act).

        Returns the item's label (``Problem: Asthma``), under which its details are keyed.
        """
        code = _v3(stmt, "v3:code")
        if _local(stmt.tag) == "organizer":
            return self.organizer(stmt, kind)
        if _local(stmt.tag) == "act" and code is not None and code.get("code") in WRAPPER_CODES:
            return self.wrapper(stmt, kind)
        item = self.main(stmt, kind)
        if item is not None:
            self.details(item, _time_details(stmt))
            self.details(item, _status_details(stmt))
            self.details(item, self.clinical_details(stmt))
            self.nested(stmt, item, level=1)
        return item

    def main(self, stmt: etree._Element, kind: str) -> str | None:
        """Emit the item's main value; return the item's label for its details."""
        label = kind + _qualifiers(stmt)
        subject = _subject(stmt)
        code = _v3(stmt, "v3:code")
        values = _v3_all(stmt, "v3:value")
        if subject is not None:  # a drug, a substance: the item is what it is about
            item = f"{kind}: {self.name(subject)}"
            self.add(label, self.concept(subject), subject)
            self.details(item, self.translations(subject))
            for value in values:  # an allergy's value is its type ("Drug allergy")
                self.add(f"{item}, type", self.value_text(value), value)
            return item
        if values and (code is None or code.get("code") in TYPE_CODES or not self.name(code)):
            # A problem or finding: the code only says "Problem"; the value is the finding.
            first = values[0]
            name = self.name(first) if first.get("code") else self.value_text(first)
            for value in values:
                self.add(label, self.value_text(value), value)
            return f"{kind}: {name}"
        if code is None:
            return None
        item = f"{kind}: {self.name(code)}"
        if values:  # a measurement: "Result: Hemoglobin" = "13.2 g/dL"
            for value in values:
                self.add(item + _qualifiers(stmt), self.value_text(value), value)
            if code.get("code"):
                self.add(f"{item}, code", _code_only(code), code)
        else:  # a procedure, an encounter: the code is the item
            self.add(label, self.concept(code), code)
        self.details(item, self.translations(code))
        return item

    def translations(self, code: etree._Element) -> Iterator[Detail]:
        for translation in _v3_all(code, "v3:translation"):
            yield "translation", self.concept(translation), translation, None

    def clinical_details(self, stmt: etree._Element) -> Iterator[Detail]:
        """Dose, route, body site, interpretation and reference range."""
        dose = _v3(stmt, "v3:doseQuantity")
        if dose is not None and (dose.get("value") or len(dose)):
            yield "dose", self.value_text(dose), dose, None
        for path, word in (
            ("v3:routeCode", "route"),
            ("v3:targetSiteCode", "site"),
            ("v3:interpretationCode", "interpretation"),
        ):
            for coded in _v3_all(stmt, path):
                yield word, self.concept(coded), coded, None
        for observation_range in _v3_all(stmt, "v3:referenceRange/v3:observationRange"):
            value = _v3(observation_range, "v3:value")
            text = _v3(observation_range, "v3:text")
            if value is not None:
                yield "reference range", self.value_text(value), value, None
            elif text is not None and _squeeze(_own_text(text)):
                yield "reference range", _squeeze(_own_text(text)), text, None

    def nested(self, stmt: etree._Element, item: str, *, level: int) -> None:
        """entryRelationship items (reactions, severity, indications) as details of ``item``."""
        if level > _NESTED_LIMIT:
            return
        for relationship in _v3_all(stmt, "v3:entryRelationship"):
            role = ROLES.get(relationship.get("typeCode") or "")
            for child in _elements(relationship):
                if _local(child.tag) in STATEMENT_KINDS:
                    self.nested_item(child, item, role, level)

    def nested_item(self, child: etree._Element, item: str, role: str | None, level: int) -> None:
        code = _v3(child, "v3:code")
        values = _v3_all(child, "v3:value")
        subject = _subject(child)
        if code is None or code.get("code") in TYPE_CODES or not self.name(code):
            word = role or "detail"
        else:
            word = role or DETAIL_WORDS.get(code.get("code") or "") or self.name(code)
        key = f"{item}, {word}{_qualifiers(child)}"
        if subject is not None:
            self.add(key, self.concept(subject), subject)
            label = f"{key}: {self.name(subject)}"
        elif values:
            for value in values:
                self.add(key, self.value_text(value), value)
            label = f"{key}: {self.value_text(values[0])}"
        elif code is not None:
            self.add(key, self.concept(code), code)
            label = f"{key}: {self.name(code)}"
        else:
            return
        self.nested(child, label, level=level + 1)

    def organizer(self, organizer: etree._Element, kind: str) -> str | None:
        """A panel or vital-sign cluster, then each of its members."""
        code = _v3(organizer, "v3:code")
        label = None
        if code is not None:
            label = f"{kind} panel: {self.name(code)}"
            self.add(f"{kind} panel", self.concept(code), code)
            self.details(label, _time_details(organizer))
            self.details(label, _status_details(organizer))
        outer = self.inherited
        given = [*_time_details(organizer), *_status_details(organizer)]
        self.inherited = outer | {(word, text) for word, text, _, _ in given}
        for child in _statements(organizer, "v3:component"):
            self.statement(child, kind)
        self.inherited = outer
        return label

    def wrapper(self, act: etree._Element, kind: str) -> str | None:
        """A concern act: its entries are the items; its status says if the concern is active."""
        labels = [self.statement(child, kind) for child in _statements(act, "v3:entryRelationship")]
        first = next((label for label in labels if label), None)
        if first is not None:
            for _, text, status, attr in _status_details(act):
                self.add(f"{first}, concern status", text, status, attr)
        return first


def _ccda_header(root: etree._Element, paths: _Paths) -> Section:
    """Document facts and the patient's gender and birth time; never names, ids, addresses."""
    entries = _Entries(paths, {})
    # entries.add skips an empty text, so an element without a value adds nothing.
    patient = _v3(root, "v3:recordTarget/v3:patientRole/v3:patient")
    for scope, path, label, read in (
        (root, "v3:title", "Title", "text"),
        (root, "v3:code", "Document type", "concept"),
        (root, "v3:effectiveTime", "Effective time", "value"),
        (patient, "v3:administrativeGenderCode", "Gender", "concept"),
        (patient, "v3:birthTime", "Birth time", "value"),
    ):
        element = None if scope is None else _v3(scope, path)
        if element is None:
            continue
        if read == "value":
            entries.add(label, element.get("value") or "", element, "value")
        elif read == "concept":
            entries.add(label, entries.concept(element), element)
        else:
            entries.add(label, _squeeze(_own_text(element)), element)
    return Section(title="Document", values=entries.values)


def _section_kind(section: etree._Element) -> str | None:
    code = _v3(section, "v3:code")
    return SECTION_KINDS.get(code.get("code") or "") if code is not None else None


def _section_title(section: etree._Element, index: int) -> str:
    title = _v3(section, "v3:title")
    if title is not None and _squeeze(_own_text(title)):
        return _squeeze(_own_text(title))
    code = _v3(section, "v3:code")
    if code is not None and code.get("displayName"):
        return code.get("displayName") or ""
    return f"Section {index}"


def _ccda_sections(
    section: etree._Element, paths: _Paths, record: Record, *, index: int, parent: str | None
) -> None:
    title = _section_title(section, index)
    title = f"{parent} / {title}" if parent else title
    text = _v3(section, "v3:text")
    ids = {} if text is None else {e.get("ID") or "": e for e in text.iter() if e.get("ID")}
    entries = _Entries(paths, ids)
    if section.get("nullFlavor"):
        entries.add("Status", _null_text(section.get("nullFlavor") or ""), section)
    section_kind = _section_kind(section)
    for entry in _v3_all(section, "v3:entry"):
        for stmt in _elements(entry):
            kind = section_kind or STATEMENT_KINDS.get(_local(stmt.tag))
            if kind is not None:
                entries.statement(stmt, kind)
    if text is not None:
        has_entries = _v3(section, "v3:entry") is not None
        _add_narrative(entries, text, record, index=index, has_entries=has_entries)
    record.sections.append(Section(title=title, values=entries.values))
    for sub, child in enumerate(_v3_all(section, "v3:component/v3:section"), start=1):
        _ccda_sections(child, paths, record, index=sub, parent=title)


def _add_narrative(
    entries: _Entries, text: etree._Element, record: Record, *, index: int, has_entries: bool
) -> None:
    narrative = _narrative(text)
    if not narrative:
        return
    # With coded entries the narrative mostly repeats them: keep it short. Without entries it is
    # the section's only content and is kept whole.
    if has_entries and len(narrative) > _NARRATIVE_LIMIT:
        narrative = narrative[:_NARRATIVE_LIMIT].rstrip() + " …"
        record.issues.append(
            f"section {index}: narrative cut to {_NARRATIVE_LIMIT} characters (entries kept)"
        )
    entries.add("Narrative", narrative, text)


def _ccda_record(root: etree._Element, paths: _Paths, record_id: str) -> Record:
    record = Record(record_id=record_id, kind="ccda")
    record.sections.append(_ccda_header(root, paths))
    body = _v3_all(root, "v3:component/v3:structuredBody/v3:component/v3:section")
    for index, section in enumerate(body, start=1):
        _ccda_sections(section, paths, record, index=index, parent=None)
    if _v3(root, "v3:component/v3:nonXMLBody") is not None:
        record.issues.append("the document body is not XML (nonXMLBody); it was not read")
    return record
