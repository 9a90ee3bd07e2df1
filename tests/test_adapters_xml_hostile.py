"""XML adapter against hostile input: entities, external DTDs, XInclude, depth and size limits,
encodings that hide a DOCTYPE, and errors that name the record but never its content."""

from __future__ import annotations

import pathlib
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from structkit import ConfigurationError, RecordParseError, UnsafeInputError
from structkit.adapters import _xml_safe as _xml
from structkit.adapters._xml import parse_xml

SECRET = "SECRET-7f3a9c-do-not-leak"


# ----------------------------------------------------------------------------- hostile XML


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET, encoding="utf-8")
    return path


@dataclass
class Network:
    calls: list[Any]  # addresses Python code tried to connect to
    port: int  # a local listener that would see a connection made from C


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> Iterator[Network]:
    """Records every outgoing connection: Python-level spies plus a real local listener.

    libxml2 would connect from C, which no Python spy sees; the listener would see it.
    """
    calls: list[Any] = []
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)

    def spy_connect(self: socket.socket, address: Any) -> None:
        calls.append(address)
        raise OSError("network is disabled in this test")

    def spy_create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        calls.append(address)
        raise OSError("network is disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", spy_connect)
    monkeypatch.setattr(socket, "create_connection", spy_create_connection)
    yield Network(calls=calls, port=listener.getsockname()[1])
    try:
        connection, _ = listener.accept()
    except BlockingIOError:
        connection = None
    listener.close()
    assert connection is None, "the parser opened a connection"


def not_chained(error: BaseException) -> bool:
    """No lxml exception (whose message quotes the document) rides along in tracebacks."""
    return error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def refused(source: Any, *secrets: str, **limits: Any) -> UnsafeInputError:
    with pytest.raises(UnsafeInputError) as info:
        parse_xml(source, record_id="hostile", **limits)
    error = info.value
    assert error.record_id == "hostile"
    assert not_chained(error)
    shown = f"{error!s} {error!r} {error.where}"
    for secret in secrets:
        assert secret not in shown
    return error


def hardened_parse(data: bytes) -> etree._ElementTree:
    """Parse with the adapter's parser, skipping its early scan: the second line of defence."""
    parser = _xml._hardened_parser(None)
    parser.feed(data)
    return parser.close().getroottree()


def assert_second_line_holds(data: bytes, *secrets: str) -> None:
    """Past the early scan, libxml2 refuses by itself or leaves entities unexpanded; either
    way nothing secret is in the result, and the DOCTYPE check refuses the tree."""
    try:
        tree = hardened_parse(data)
    except etree.XMLSyntaxError as exc:
        assert not any(secret in str(exc) for secret in secrets)
        return
    shown = etree.tostring(tree, encoding="unicode")
    assert len(shown) <= len(data) + 16  # no entity was expanded
    assert not any(secret in shown for secret in secrets)
    with pytest.raises(UnsafeInputError):
        _xml._refuse_dtd(tree, "hostile")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>
"""


def test_billion_laughs_is_refused_and_never_expanded():
    start = time.monotonic()
    refused(BILLION_LAUGHS, "lol")
    assert time.monotonic() - start < 2
    assert_second_line_holds(BILLION_LAUGHS, "lollollol")


def test_quadratic_blowup_is_refused():
    big = "A" * 50_000
    doc = f'<!DOCTYPE r [<!ENTITY a "{big}">]><r>{"&a;" * 10_000}</r>'.encode()
    start = time.monotonic()
    refused(doc, "AAAA")
    assert time.monotonic() - start < 2
    assert_second_line_holds(doc, big)


def test_xxe_file_entity_is_refused_and_the_file_is_never_read(secret_file, network):
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret_file}">]>'
        "<r><leak>&x;</leak></r>"
    )
    refused(doc, SECRET, str(secret_file))
    refused(doc.encode(), SECRET, str(secret_file))
    assert_second_line_holds(doc.encode(), SECRET)
    assert network.calls == []


def test_external_dtd_over_http_is_refused_without_any_connection(network):
    url = f"http://127.0.0.1:{network.port}/evil.dtd"
    doc = f'<?xml version="1.0"?><!DOCTYPE r SYSTEM "{url}"><r>&ent;</r>'.encode()
    refused(doc, url)
    assert_second_line_holds(f'<!DOCTYPE r SYSTEM "{url}"><r/>'.encode())
    assert network.calls == []


def test_parameter_entities_are_refused_and_nothing_is_read(secret_file, network):
    doc = (
        "<!DOCTYPE r [\n"
        f'  <!ENTITY % file SYSTEM "file://{secret_file}">\n'
        f'  <!ENTITY % dtd SYSTEM "http://127.0.0.1:{network.port}/x.dtd">\n'
        "  %dtd;\n"
        "  %file;\n"
        "]>\n<r/>"
    ).encode()
    refused(doc, SECRET, str(secret_file))
    assert_second_line_holds(doc, SECRET)
    assert network.calls == []


def test_xinclude_is_refused_and_never_expanded(secret_file):
    doc = (
        '<r xmlns:xi="http://www.w3.org/2001/XInclude">'
        f'<xi:include href="file://{secret_file}" parse="text"/></r>'
    )
    error = refused(doc, SECRET, str(secret_file))
    assert "XInclude" in str(error)
    old_namespace = doc.replace("2001/XInclude", "2003/XInclude")
    refused(old_namespace, SECRET)
    tree = hardened_parse(doc.encode())
    assert SECRET not in etree.tostring(tree, encoding="unicode")


def test_nesting_beyond_max_depth_is_refused():
    at_limit = "<a>" * 10 + "</a>" * 10
    assert parse_xml(at_limit, max_depth=10).kind == "xml"
    error = refused("<a>" * 11 + "x" + "</a>" * 11, "x", max_depth=10)
    assert "deeper than 10" in str(error)


def test_100k_deep_nesting_is_refused_quickly():
    doc = b"<a>" * 100_000 + b"</a>" * 100_000
    start = time.monotonic()
    refused(doc)
    # lxml without huge_tree stops at depth 256, even when the caller allows more.
    refused(doc, max_depth=100_000)
    assert time.monotonic() - start < 5


def test_too_many_elements_is_refused():
    assert parse_xml("<r>" + "<i/>" * 49 + "</r>", max_elements=50).kind == "xml"
    error = refused("<r>" + "<i/>" * 50 + "</r>", max_elements=50)
    assert "more than 50 elements" in str(error)
    start = time.monotonic()
    refused(b"<r>" + b"<i/>" * 300_000 + b"</r>")  # default limit 200 000
    assert time.monotonic() - start < 10


def test_oversize_file_is_refused_before_it_is_opened(tmp_path, monkeypatch):
    path = tmp_path / "big.xml"
    path.write_text("<r>" + "<v>1</v>" * 200 + "</r>", encoding="utf-8")
    opened: list[Path] = []
    real_open = pathlib.Path.open

    def spy_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        opened.append(self)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", spy_open)
    with pytest.raises(UnsafeInputError) as info:
        parse_xml(path, max_bytes=1000)
    assert info.value.record_id == "big.xml"
    assert "larger than 1000 bytes" in str(info.value)
    assert opened == []
    assert parse_xml(path, max_bytes=10_000).kind == "xml"
    assert opened == [path]


def test_oversize_text_and_bytes_are_refused():
    doc = "<r>" + "<v>1</v>" * 200 + "</r>"
    refused(doc, "<v>", max_bytes=1000)
    refused(doc.encode(), "<v>", max_bytes=1000)


def test_malformed_xml_gives_position_but_no_content():
    doc = "<patient>\n  <name>Jane Secretname</nme>\n</patient>"
    with pytest.raises(RecordParseError) as info:
        parse_xml(doc, record_id="p1")
    error = info.value
    assert error.where is not None and error.where.startswith("line 2, column ")
    assert str(error) == f"record 'p1': malformed XML (at {error.where})"
    assert not_chained(error)
    for content in ("Secretname", "Jane", "nme", "name", "patient"):
        assert content not in str(error)


@pytest.mark.parametrize("source", [b"", "", "  \n\t", b"   ", b"\xef\xbb\xbf"])
def test_empty_input_is_a_parse_error(source):
    with pytest.raises(RecordParseError):
        parse_xml(source)


@pytest.mark.parametrize(
    "source",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"\x00\x01\x02\x03\xff\xfe\xfd",
        b"hello world",
        b'{"resourceType": "Patient"}',
        b"<r>\x00</r>",
    ],
)
def test_non_xml_bytes_are_a_parse_error(source):
    with pytest.raises(RecordParseError) as info:
        parse_xml(source)
    assert not isinstance(info.value, UnsafeInputError)


def test_text_that_is_neither_xml_nor_a_file_is_not_echoed():
    with pytest.raises(RecordParseError) as info:
        parse_xml("Jane Doe, 67, chest pain since 3 days")
    assert "Jane" not in str(info.value)
    assert info.value.record_id == "xml"


def test_missing_file_and_directory_are_parse_errors(tmp_path):
    with pytest.raises(RecordParseError, match="no such file"):
        parse_xml(tmp_path / "missing.xml")
    with pytest.raises(RecordParseError, match="not a regular file"):
        parse_xml(tmp_path)


def test_utf16_document_with_doctype_is_refused(secret_file):
    doc = (
        '<?xml version="1.0" encoding="UTF-16"?>'
        f'<!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret_file}">]><r>&x;</r>'
    )
    refused(doc.encode("utf-16"), SECRET)  # with a byte order mark
    refused(doc.encode("utf-16-be"), SECRET)  # without one
    refused(doc.replace("UTF-16", "UTF-32").encode("utf-32"), SECRET)


def test_utf7_hidden_doctype_is_refused(secret_file):
    # libxml2 reads UTF-7, where "<" is "+ADw-": a byte scan for "<!DOCTYPE" would miss it.
    body = f'<!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret_file}">]><r>&x;</r>'
    hidden = body.replace("<", "+ADw-").replace(">", "+AD4-").replace("!", "+ACE-").encode()
    assert hidden.decode("utf-7") == body
    doc = b'<?xml version="1.0" encoding="UTF-7"?>' + hidden
    assert b"<!" not in doc
    refused(doc, SECRET)


def test_declaration_text_in_a_comment_is_refused_too():
    # The early scan is deliberately blunt: it does not tell comments from the prolog.
    refused("<r><!-- <!DOCTYPE r> --></r>")


def test_limits_must_be_positive():
    with pytest.raises(ConfigurationError):
        parse_xml("<r/>", max_depth=0)


def test_unknown_declared_encoding_is_refused():
    refused(b'<?xml version="1.0" encoding="x-no-such-encoding"?><r/>')
