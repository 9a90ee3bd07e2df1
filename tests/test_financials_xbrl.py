"""XBRL and inline XBRL: facts placed by concept, never by the model; hostile input refused."""

from __future__ import annotations

import gzip
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

import structkit
from structkit import FakeEngine, GenerationRequest, RecordParseError, UnsafeInputError
from structkit.adapters import load
from structkit.adapters._xbrl import parse_xbrl, read_xbrl_facts

DATASETS = Path(__file__).parents[1] / "datasets" / "financials"
TESLA = DATASETS / "tsla-20240630_htm.xml.gz"  # SEC XBRL instance, Tesla 10-Q Q2 2024
AEON = DATASETS / "aeon-20230930x10q.htm.gz"  # SEC inline XBRL, AEON Biopharma 10-Q Q3 2023
UK = Path(__file__).parent / "fixtures" / "finance" / "uk_frs102_ixbrlparse_account_6.xhtml"


def never(request: GenerationRequest) -> str:
    pytest.fail("the model was called for tagged facts")


def test_xbrl_instance_key_metrics_for_every_period_without_the_model():
    engine = FakeEngine(never)
    result = structkit.analyze_financials(TESLA, engine=engine)
    assert engine.calls == [] and result.model_questions == 0
    for period in ("2024-04-01 to 2024-06-30", "2023-04-01 to 2023-06-30"):
        assert result.value_of("revenue", period) is not None
        assert result.value_of("net_income", period) is not None
        assert result.value_of("eps_diluted", period) is not None
    assert result.value_of("revenue", "2024-04-01 to 2024-06-30") == 25_500_000_000
    assert result.value_of("revenue", "2024-01-01 to 2024-06-30") == 46_801_000_000
    assert result.value_of("total_assets", "2024-06-30") == 112_832_000_000
    assert result.value_of("total_assets", "2023-12-31") == 106_618_000_000
    assert result.value_of("operating_cash_flow", "2024-01-01 to 2024-06-30") == 3_854_000_000
    assert result.value_of("capital_expenditures", "2023-01-01 to 2023-06-30") == 4_132_000_000
    assert {i.mapped_by for i in result.line_items} == {"xbrl"}
    assert result.currency == "USD" and result.scale == "units"
    fcf = {c.period: c.free_cash_flow for c in result.cash_flow}
    assert fcf["2024-01-01 to 2024-06-30"] == 3_854_000_000 - 5_043_000_000
    # The FX effect closes the cash-flow identity.
    assert not [f for f in result.flags if f.check and f.check.startswith("net_change_in_cash")]


def test_pointers_are_xpaths_of_the_fact_elements():
    data = gzip.decompress(TESLA.read_bytes())
    tree = etree.fromstring(data, etree.XMLParser(resolve_entities=False)).getroottree()
    facts, _, _ = read_xbrl_facts(data, record_id="tsla")
    revenue = next(f for f in facts if f.concept == "us-gaap:Revenues" and not f.dimensions)
    (element,) = tree.xpath(revenue.pointer)
    assert Decimal(element.text.strip()) == revenue.value
    assert element.get("contextRef") and revenue.unit == "USD" and revenue.decimals == "-6"


def test_dimensional_facts_are_kept_apart():
    record = parse_xbrl(TESLA.read_bytes(), record_id="tsla")
    titles = [s.title for s in record.sections]
    assert titles == ["Facts", "Dimensional facts"]
    dimensional = [row[0].text for row in record.sections[1].rows]
    assert any(label.startswith("us-gaap:Revenue") and "[" in label for label in dimensional)
    result = structkit.analyze_financials(record, engine=FakeEngine(never))
    assert all("[" not in i.source_label for i in result.line_items)


def test_inline_xbrl_scale_and_sign_and_no_model():
    engine = FakeEngine(never)
    result = structkit.analyze_financials(AEON, engine=engine)
    assert engine.calls == [] and result.model_questions == 0
    # 16,177 with scale="3" in the document
    assert result.value_of("cash_and_equivalents", "2023-09-30") == 16_177_000
    assert result.value_of("total_assets", "2023-09-30") == 17_619_000
    assert result.value_of("total_assets", "2022-12-31") == 10_778_000
    facts, _, _ = read_xbrl_facts(gzip.decompress(AEON.read_bytes()), record_id="aeon")
    signed = [f for f in facts if f.negated]
    assert signed and all(f.value <= 0 for f in signed)
    assert {f.scale for f in facts} >= {3}


def test_uk_frs102_inline_accounts():
    result = structkit.analyze_financials(UK, engine=FakeEngine(never))
    assert result.currency == "GBP"
    assert result.value_of("revenue", "2021-08-01 to 2022-07-31") == 3456
    assert result.value_of("revenue", "2020-08-01 to 2021-07-31") == 5678
    assert result.value_of("shareholders_equity", "2022-07-31") == 254


INSTANCE = (
    '<xbrli:xbrl xmlns:xbrli="http://www.xbrl.org/2003/instance" '
    'xmlns:us-gaap="http://fasb.org/us-gaap/2023">{body}</xbrli:xbrl>'
)


@pytest.mark.parametrize(
    "document",
    [
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>' + INSTANCE.format(body="&a;"),
        '<!DOCTYPE html SYSTEM "http://example.com/evil.dtd">'
        '<html xmlns="http://www.w3.org/1999/xhtml" '
        'xmlns:ix="http://www.xbrl.org/2013/inlineXBRL"><body/></html>',
        INSTANCE.format(body="<a>" * 300 + "</a>" * 300),
        INSTANCE.format(
            body='<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="/etc/passwd"/>'
        ),
    ],
    ids=["entity", "external-dtd", "deep", "xinclude"],
)
def test_hostile_documents_raise_typed_errors(document: str):
    with pytest.raises(UnsafeInputError):
        parse_xbrl(document.encode(), record_id="hostile")
    with pytest.raises(UnsafeInputError):
        structkit.analyze_financials(document.encode(), engine=FakeEngine(never))


def test_oversize_and_gzip_bombs_are_refused(tmp_path):
    with pytest.raises(UnsafeInputError, match="over the limit"):
        parse_xbrl(TESLA.read_bytes(), record_id="tsla", max_bytes=100_000)
    bomb = tmp_path / "bomb.xml.gz"
    bomb.write_bytes(gzip.compress(INSTANCE.format(body=" " * 30_000_000).encode()))
    with pytest.raises(UnsafeInputError, match="decompressed"):
        load(bomb)


def test_not_xbrl_and_no_facts_are_parse_errors():
    with pytest.raises(RecordParseError, match="neither"):
        parse_xbrl(b"<html xmlns='http://www.w3.org/1999/xhtml'><body/></html>", record_id="x")
    with pytest.raises(RecordParseError, match="no numeric facts"):
        parse_xbrl(INSTANCE.format(body="").encode(), record_id="x")


INLINE = """<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:ix="http://www.xbrl.org/2013/inlineXBRL"
 xmlns:xbrli="http://www.xbrl.org/2003/instance" xmlns:xbrldi="http://xbrl.org/2006/xbrldi"
 xmlns:ifrs-full="http://xbrl.ifrs.org/taxonomy/2023-03-23/ifrs-full"
 xmlns:iso4217="http://www.xbrl.org/2003/iso4217"><body>
<ix:header><ix:resources>
 <xbrli:context id="FY"><xbrli:entity><xbrli:identifier scheme="x">1</xbrli:identifier>
 </xbrli:entity><xbrli:period><xbrli:startDate>2023-01-01</xbrli:startDate>
 <xbrli:endDate>2023-12-31</xbrli:endDate></xbrli:period></xbrli:context>
 <xbrli:context id="FY_SEG"><xbrli:entity><xbrli:identifier scheme="x">1</xbrli:identifier>
 <xbrli:segment><xbrldi:explicitMember dimension="ifrs-full:SegmentsAxis">x:Retail
 </xbrldi:explicitMember>
 </xbrli:segment></xbrli:entity><xbrli:period><xbrli:startDate>2023-01-01</xbrli:startDate>
 <xbrli:endDate>2023-12-31</xbrli:endDate></xbrli:period></xbrli:context>
 <xbrli:unit id="EUR"><xbrli:measure>iso4217:EUR</xbrli:measure></xbrli:unit>
</ix:resources></ix:header>
<p><ix:nonFraction name="ifrs-full:Revenue" contextRef="FY" unitRef="EUR" decimals="-5"
 scale="6" format="ixt:num-comma-decimal">1.234,5</ix:nonFraction></p>
<p><ix:nonFraction name="ifrs-full:ProfitLoss" contextRef="FY" unitRef="EUR" decimals="-3"
 scale="3" sign="-" format="ixt:num-dot-decimal">(2,500)</ix:nonFraction></p>
<p><ix:nonFraction name="ifrs-full:CostOfSales" contextRef="FY" unitRef="EUR" decimals="0"
 format="ixt:fixed-zero">-</ix:nonFraction></p>
<p><ix:nonFraction name="ifrs-full:Revenue" contextRef="FY_SEG" unitRef="EUR" decimals="-5"
 scale="6" format="ixt:num-dot-decimal">700.1</ix:nonFraction></p>
</body></html>"""


def test_inline_formats_scale_sign_and_segments():
    facts, _, _ = read_xbrl_facts(INLINE.encode(), record_id="ifrs")
    by = {(f.concept, bool(f.dimensions)): f for f in facts}
    revenue = by[("ifrs-full:Revenue", False)]
    assert revenue.value == Decimal("1234500000") and revenue.scale == 6
    assert revenue.period == "2023-01-01 to 2023-12-31" and not revenue.instant
    assert revenue.unit == "EUR" and revenue.decimals == "-5"
    loss = by[("ifrs-full:ProfitLoss", False)]
    assert loss.value == Decimal("-2500000") and loss.negated
    assert by[("ifrs-full:CostOfSales", False)].value == 0
    segment = by[("ifrs-full:Revenue", True)]
    assert segment.dimensions == (("ifrs-full:SegmentsAxis", "x:Retail"),)
    result = structkit.analyze_financials(INLINE.encode(), engine=FakeEngine(never))
    assert result.value_of("revenue", "2023-01-01 to 2023-12-31") == 1_234_500_000
    assert result.value_of("net_income", "2023-01-01 to 2023-12-31") == -2_500_000
    assert result.currency == "EUR"
