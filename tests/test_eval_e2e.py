"""The evaluation harness on the real embedded engine (not a fake): real timings, real reports."""

from __future__ import annotations

import json

import pytest

from structkit.evaluation import evaluate, load_dataset, write_report
from structkit.testing import freeform_diagnosis as legacy

from .conftest import ROOT

pytestmark = pytest.mark.engine


def test_eval_on_the_shipped_dataset_measures_the_real_engine(real_engine, tmp_path):
    items = load_dataset(ROOT / "datasets" / "diagnosis.jsonl", limit=3)
    evaluation = evaluate(
        legacy.DIAGNOSIS,  # the classic path: one whole-record prompt per record
        items,
        engines=[real_engine],
        settings=[{}, {"format": "markdown"}],
        runs=2,
        name="diagnosis.jsonl",
    )
    assert [c.setting for c in evaluation.configs] == [{}, {"format": "markdown"}]
    for config in evaluation.configs:
        assert len(config.runs) == 2
        for run in config.runs:
            m = run.metrics
            assert m["schema_valid"] is not None and 0 <= m["schema_valid"] <= 1
            assert m["records_per_s"] is not None and m["records_per_s"] > 0
            # vLLM's own per-request metrics, not estimates: TTFT exists and is below the run
            assert len(run.ttfts) >= 3 and all(0 < t <= run.seconds for t in run.ttfts)
            assert m["ttft_p50_s"] is not None and m["ttft_p50_s"] <= m["ttft_p99_s"]
            assert len(run.latencies) == 3
    paths = write_report(evaluation, tmp_path / "report")
    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert "markdown" in markdown and "±" in markdown
    assert "<svg" in paths["html"].read_text(encoding="utf-8")
    raw = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert len(raw["configs"]) == 2 and raw["items"] == 3
