"""The HTML report renders in a real browser: headless Chromium loads the page offline, the DOM
after load holds the expected SVG bars and boxes, and a screenshot shows the plots.

Needs Chromium (Debian package ``chromium``; or set ``STRUCTKIT_CHROMIUM`` to a binary). Without
it the tests are skipped locally and fail on CI (``CI`` set), so CI cannot pass them vacuously.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import struct
import subprocess
import time
import zlib
from collections import Counter
from pathlib import Path

import pytest
from lxml import html as lxml_html

import structkit
from structkit.adapters import load, render
from structkit.engines import GenerationRequest
from structkit.evaluation import Evaluation, evaluate, load_dataset, write_report
from structkit.evaluation._report import PALETTE
from structkit.testing import freeform_diagnosis as legacy

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@pytest.fixture(scope="module")
def chromium() -> str:
    found = os.environ.get("STRUCTKIT_CHROMIUM") or next(
        (p for p in map(shutil.which, NAMES) if p), None
    )
    if found is None:
        message = "headless Chromium not found (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + "; it is required on CI")
        pytest.skip(message)
    return found


def _browse(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Evaluation, Path]:
    """2 models x 2 settings x 3 runs on FakeEngines, with varying latency and accuracy."""
    items = load_dataset(ROOT / "datasets" / "diagnosis.jsonl", limit=4)
    rendered = [(render(load(i.input), format="json"), i) for i in items]
    rng = random.Random(7)

    def respond(request: GenerationRequest) -> str:
        gold = next(i for text, i in rendered if text in request.messages[-1]["content"]).gold
        time.sleep(rng.uniform(0.001, 0.02))
        right = rng.random() < 0.7
        return json.dumps(
            {
                "summary": "s",
                "differential": [
                    {
                        "condition": gold["condition"] if right else "Gastritis",
                        "evidence": ["chief_complaint"],
                        "likelihood": 0.6,
                        "rationale": "r",
                    }
                ],
                "recommended_tests": [g[0] for g in gold["recommended_tests"]][: 1 + right],
                "red_flags": [g[0] for g in gold["red_flags"]][: 1 + 2 * right],
                "insufficient_information": False,
                "missing_information": [],
            }
        )

    evaluation = evaluate(
        legacy.DIAGNOSIS,
        items,
        models=["model-a", "model-b"],
        settings=[{}, {"grounding": False}],
        runs=3,
        batch_size=1,
        engine_factory=lambda m: structkit.FakeEngine(respond, model_name=m or "x"),
    )
    out = tmp_path_factory.mktemp("report")
    write_report(evaluation, out)
    return evaluation, out / "report.html"


def test_dom_after_load_has_the_plots(
    chromium: str, report: tuple[Evaluation, Path], tmp_path: Path
) -> None:
    evaluation, page = report
    done = _browse(chromium, tmp_path / "profile", "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = lxml_html.fromstring(done.stdout)
    configs, metrics = len(evaluation.configs), len(evaluation.accuracy_metrics)
    assert configs == 4 and metrics == 4

    bars = dom.xpath('//svg[@id="accuracy-chart"]//rect[contains(@class, "bar")]')
    assert len(bars) == configs * metrics
    assert all(b.get("data-value") not in (None, "", "n/a") for b in bars)
    assert any(float(b.get("height")) > 0 for b in bars)
    assert dom.xpath('//svg[@id="accuracy-chart"]//line[@class="err"]'), "no error bars"

    boxes = dom.xpath('//svg[@id="latency-chart"]//g[@class="box"]')
    assert len(boxes) == configs
    for box in boxes:
        assert box.get("data-n") == str(evaluation.items * evaluation.runs)
        assert box.xpath("./rect") and box.xpath('./line[@class="median"]')
    assert len(dom.xpath('//table[@id="quality"]//tbody/tr')) == configs


def _pixels(png: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """Decode an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes); no dependency."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    at, idat, header = 8, b"", b""
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, body = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        at += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, "unexpected PNG flavour"
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    previous, pixels = bytearray(stride), []
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        pixels += [tuple(line[x : x + 3]) for x in range(0, stride, bpp)]
        previous = line
    return width, height, pixels


def test_screenshot_shows_the_plots(
    chromium: str, report: tuple[Evaluation, Path], tmp_path: Path
) -> None:
    _, page = report
    shot = tmp_path / "shot.png"
    done = _browse(
        chromium, tmp_path / "profile", f"--screenshot={shot}", "--window-size=900,1150",
        page.as_uri(),
    )  # fmt: skip
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    width, height, pixels = _pixels(shot.read_bytes())
    assert (width, height) == (900, 1150)
    colours = Counter(pixels)
    assert len(colours) > 20, "the screenshot is (nearly) blank"
    assert colours.most_common(1)[0][1] < 0.97 * len(pixels)

    def near(rgb: tuple[int, int, int]) -> int:
        return sum(n for c, n in colours.items() if max(abs(c[k] - rgb[k]) for k in range(3)) < 12)

    first = tuple(int(PALETTE[0][i : i + 2], 16) for i in (1, 3, 5))
    second = tuple(int(PALETTE[1][i : i + 2], 16) for i in (1, 3, 5))
    assert near(first) > 400, "no bars of the first metric's colour"  # type: ignore[arg-type]
    assert near(second) > 400, "no bars of the second metric's colour"  # type: ignore[arg-type]
