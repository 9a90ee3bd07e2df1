"""The review app in a real headless Chromium (driven by Playwright): keyboard decisions survive a
reload and become gold the eval harness scores; record text holding HTML and script is shown as
text; the static page renders the same. Also writes the screenshots in docs/ when
``STRUCTKIT_REVIEW_SCREENSHOTS`` is set.

Needs Chromium (Debian package ``chromium``, or ``STRUCTKIT_CHROMIUM``) and the ``playwright``
package (dev extra; it drives the installed Chromium, no browser download). Without them the
tests are skipped locally and fail on CI (``CI`` set), like the report's browser test.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from structkit import FakeEngine
from structkit.cli import main
from structkit.evaluation import evaluate, load_dataset
from structkit.review import ReviewServer, ReviewSession

from .review_fixtures import SCRIPT, contract_results, statement_results
from .schema_answers import respond

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _missing(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message + "; it is required on CI")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    binary = os.environ.get("STRUCTKIT_CHROMIUM") or next(
        (p for p in map(shutil.which, NAMES) if p), None
    )
    if binary is None:
        _missing("headless Chromium not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=binary, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 820})
    context.set_default_timeout(60_000)  # two busy cores: be patient, not flaky
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.errors = errors
    yield opened
    context.close()


def wait_ready(page: Any) -> None:
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)


def item(page: Any, path: str) -> Any:
    return page.locator(f".item[data-path='{path}']")


def test_keyboard_decisions_survive_a_reload_and_score_as_gold(page: Any, tmp_path: Path) -> None:
    results = contract_results(tmp_path)
    session = ReviewSession(results)
    server = ReviewServer(session, port=0).start()
    try:
        page.goto(server.url)
        wait_ready(page)
        assert page.locator(".rec").count() == 3
        assert page.locator("#record-head h2").inner_text() == "contract-01.txt"
        before = item(page, "/clauses/1").locator("pre.value").inner_text()
        assert '"Parties"' in before
        page.keyboard.press("a")  # accept the first clause; the second becomes current
        item(page, "/clauses/0").locator(".decision", has_text="accept").wait_for()
        page.keyboard.press("c")  # correct the second with the keyboard only
        page.wait_for_selector("#editor:focus")
        value = json.loads(page.locator("#editor").input_value())
        value["clause_type"] = "Governing Law"
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(json.dumps(value))
        page.keyboard.press("Control+Enter")
        item(page, "/clauses/1").locator(".decision", has_text="correct").wait_for()

        page.reload()
        wait_ready(page)
        assert item(page, "/clauses/0").locator(".decision").inner_text().lower() == "accept"
        assert item(page, "/clauses/1").locator(".decision").inner_text().lower() == "correct"
        assert '"Governing Law"' in item(page, "/clauses/1").locator("pre.value").inner_text()
        assert "done" in (page.locator(".rec[data-n='0']").get_attribute("class") or "")
        assert page.errors == []
    finally:
        server.close()

    log = [json.loads(x) for x in session.decisions_path.read_text().splitlines()]
    assert [(d["item"], d["action"]) for d in log] == [
        ("/clauses/0", "accept"),
        ("/clauses/1", "correct"),
    ]
    (gold,) = load_dataset(session.gold_path)
    assert [s["clause_type"] for s in gold.gold["spans"]] == ["Document Name", "Governing Law"]
    evaluation = evaluate("clauses", session.gold_path, engines=[FakeEngine(respond)], warmup=False)
    f1 = evaluation.configs[0].stat("clauses_f1")
    assert f1 is not None and 0.0 < f1.mean < 1.0


def test_record_text_with_script_is_shown_as_text(page: Any, tmp_path: Path) -> None:
    server = ReviewServer(ReviewSession(contract_results(tmp_path)), port=0).start()
    try:
        page.goto(server.url)
        wait_ready(page)
        title = page.title()
        page.locator(".rec", has_text="hostile.txt").click()
        page.wait_for_selector("#record-head h2:text('hostile.txt')")
        assert SCRIPT in page.locator("#source-text").inner_text()
        shown = page.locator(".item").first.locator("pre.value").inner_text()
        assert json.dumps(SCRIPT)[1:-1] in shown  # the answer as JSON text, quotes escaped
        assert page.locator("#source script, #source img, #items script, #items img").count() == 0
        assert page.title() == title != "pwned"
        assert page.errors == []
    finally:
        server.close()


def test_static_page_is_read_only_and_inert(page: Any, tmp_path: Path) -> None:
    results = contract_results(tmp_path)
    out = tmp_path / "review.html"
    assert main(["review", "--static", str(results), "--out", str(out)]) == 0
    page.goto(out.as_uri() + "#n=2")
    wait_ready(page)
    assert page.locator("#record-head h2").inner_text() == "hostile.txt"
    assert SCRIPT in page.locator("#source-text").inner_text()
    assert page.title() != "pwned"
    page.keyboard.press("a")  # read-only: nothing to save, nothing breaks
    assert page.locator(".decision", has_text="accept").count() == 0
    assert page.errors == []


@pytest.mark.skipif(
    not os.environ.get("STRUCTKIT_REVIEW_SCREENSHOTS"), reason="set to refresh docs/ screenshots"
)
def test_screenshots_for_the_docs(page: Any, tmp_path: Path) -> None:
    statements = ("statement-01.csv", "statement-08.csv")  # 08 breaks an identity
    for name, results, record, shown in (
        ("review-contract.png", contract_results(tmp_path / "c", hostile=False), "contract-01", ""),
        (
            "review-statement.png",
            statement_results(tmp_path / "s", statements),
            "statement-08",
            '"identity"',
        ),
    ):
        server = ReviewServer(ReviewSession(results), port=0).start()
        try:
            page.goto(server.url)
            wait_ready(page)
            page.locator(".rec", has_text=record).click()
            page.wait_for_selector(f"#record-head h2:text('{record}')")
            page.keyboard.press("a")  # one decision, to show how it looks
            if shown:  # a code-computed item and the cells it cites
                page.locator(".item", has_text=shown).first.click()
            page.wait_for_timeout(300)
            page.screenshot(path=str(ROOT / "docs" / name))
        finally:
            server.close()


def test_paging_filters_and_choosing_another_cell_or_span(page: Any, tmp_path: Path) -> None:
    statements = ReviewSession(statement_results(tmp_path / "s"))
    server = ReviewServer(statements, port=0).start()
    try:
        page.goto(server.url)
        wait_ready(page)
        page.locator(".item[data-path='/line_items/0']").click()
        page.keyboard.press("c")
        page.wait_for_selector("#editor:focus")
        cell = page.locator("#source td[data-pointer='row=3;col=Dec. 31, 2022']")
        expected = cell.inner_text()
        cell.click()  # cite another cell: its pointer and text replace the old ones
        page.locator("#editor").focus()
        page.keyboard.press("Control+Enter")
        item(page, "/line_items/0").locator(".decision", has_text="correct").wait_for()
        assert page.errors == []
    finally:
        server.close()
    saved = statements.decided[statements.record(0)["id"]]["/line_items/0"]["value"]
    assert saved["pointer"] == "row=3;col=Dec. 31, 2022" and saved["value"] == expected

    contracts = ReviewSession(contract_results(tmp_path / "c"))
    server = ReviewServer(contracts, port=0).start()
    try:
        page.goto(server.url)
        wait_ready(page)
        page.keyboard.press("c")
        page.wait_for_selector("#editor:focus")
        text = contracts.record(0)["source"]["text"]
        start = text.index("Effective Date")
        # Select "Effective Date" in the shown source, as a reviewer's drag would.
        page.evaluate(
            """([start, length]) => {
                const spans = [...document.querySelectorAll('#source-text span')];
                const span = spans.filter((s) => +s.dataset.start <= start).pop();
                const node = span.firstChild, offset = start - +span.dataset.start;
                const range = document.createRange();
                range.setStart(node, offset);
                range.setEnd(node, offset + length);
                getSelection().removeAllRanges();
                getSelection().addRange(range);
            }""",
            [start, len("Effective Date")],
        )
        page.locator("#editor").focus()
        page.keyboard.press("Alt+s")
        page.keyboard.press("Control+Enter")
        item(page, "/clauses/0").locator(".decision", has_text="correct").wait_for()
        page.select_option("#filter-review", "partial")  # filters: only the record decided
        page.locator(".rec").nth(1).wait_for(state="detached")
        assert page.locator(".rec").count() == 1
        page.select_option("#filter-review", "")
        page.locator(".rec").nth(2).wait_for()
        assert page.locator(".rec").count() == 3
        assert page.errors == []
    finally:
        server.close()
    saved = contracts.decided["contract-01.txt"]["/clauses/0"]["value"]
    end = start + len("Effective Date")
    assert (saved["start"], saved["end"], saved["text"]) == (start, end, "Effective Date")
