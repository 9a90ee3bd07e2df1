"""Evaluation harness: metrics on hand-made cases, datasets, mean ± std, reports, CLI.

FakeEngine only (no model): answers are scripted per request.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import structkit
from structkit import ConfigurationError, DatasetError, Outcome
from structkit.adapters import load, render
from structkit.engines import Completion, GenerationRequest
from structkit.evaluation import (
    ACCURACY_METRICS,
    DatasetItem,
    Evaluation,
    PeakMemory,
    Score,
    answer_is_json,
    evaluate,
    keyword_prf,
    load_dataset,
    mean_std,
    parse_setting,
    percentile,
    score_clauses,
    score_diagnosis,
    score_financials,
    setting_label,
    to_html,
    to_markdown,
    ttft_seconds,
    write_report,
)
from structkit.evaluation._cli import add_eval_parser, run_eval
from structkit.evaluation._metrics import phrase_in
from structkit.evaluation.cuad import parse_span_list
from structkit.tasks.clauses import MAX_CLAUSES, Clause, ClauseExtraction
from structkit.tasks.financials import check_table, parse_amount
from structkit.tasks.financials._questions import MEANINGS
from structkit.tasks.financials._statement import _index
from structkit.testing import freeform_diagnosis as legacy

from .conftest import valid_diagnosis
from .legacy_financials import FINANCIALS_MAPPING

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT / "datasets"


# --------------------------------------------------------------------------- helpers


def diagnosis_oracle(items: list[DatasetItem], *, wrong: Callable[[], bool] = lambda: False):
    """A responder answering each record with its gold (or a wrong condition when asked)."""
    rendered = [
        (render(load(i.input), format=fmt), i) for i in items for fmt in ("json", "markdown")
    ]

    def respond(request: GenerationRequest) -> str:
        prompt = request.messages[-1]["content"]
        gold = next(i for text, i in rendered if text in prompt).gold
        evidence = request.json_schema["$defs"]["DifferentialItem"]["properties"]["evidence"]
        labels = evidence["items"].get("enum", ["made-up field"])
        condition = "Migraine" if wrong() else gold["condition"]
        differential = (
            []
            if gold["insufficient_information"]
            else [{"condition": condition, "evidence": labels[:1], "likelihood": 0.7,
                   "rationale": "pattern"}]
        )  # fmt: skip
        return json.dumps(
            {
                "summary": "findings",
                "differential": differential,
                "recommended_tests": [g[0] for g in gold["recommended_tests"]],
                "red_flags": [g[0] for g in gold["red_flags"]],
                "insufficient_information": gold["insufficient_information"],
                "missing_information": [],
            }
        )

    return respond


def number(cell: str) -> float | None:
    amount = parse_amount(cell)
    return None if amount is None else float(amount)


def financials_oracle(items: list[DatasetItem]) -> Callable[[GenerationRequest], str]:
    """Answers each "which row is <metric>?" question with the row holding the gold amounts."""
    tables = [(_index(load(i.input)), i) for i in items]

    def respond(request: GenerationRequest) -> str:
        assert request.json_schema is not None
        options = request.json_schema["properties"]["choice"]["enum"]
        found = re.search(r'Which row is "(.*)"\?', request.messages[-1]["content"])
        assert found is not None
        metric = next(m for m, text in MEANINGS.items() if text == found[1])
        for table, item in tables:
            gold = item.gold["values"].get(metric, {})
            for row in table.all_rows():
                cells = [row.cells.get(period) for period in gold]
                if (
                    gold
                    and row.label in options
                    and all(
                        c is not None and c.amount is not None and float(c.amount) == amount
                        for c, amount in zip(cells, gold.values(), strict=True)
                    )
                ):
                    return json.dumps({"choice": row.label})
        return json.dumps({"choice": "none"})

    return respond


def clauses_oracle(items: list[DatasetItem]) -> Callable[[GenerationRequest], str]:
    """Answers each contract (part) with the candidate spans holding its gold spans."""
    texts = {i.id: i.input.read_text(encoding="utf-8-sig") for i in items}

    def respond(request: GenerationRequest) -> str:
        spans = request.json_schema["$defs"]["Clause"]["properties"]["text"]["enum"]
        item = max(items, key=lambda i: sum(span in texts[i.id] for span in spans))
        clauses = []
        for gold in item.gold["spans"]:
            text = next((c for c in spans if gold["text"] in c or c in gold["text"]), None)
            if text is None:  # in another part of a split contract
                continue
            values = item.gold["values"].get(gold["clause_type"], [""])
            value = gold["text"] if gold["clause_type"] == "Parties" else values[0]
            clauses.append({"clause_type": gold["clause_type"], "text": text, "normalized": value})
        return json.dumps({"clauses": clauses[:MAX_CLAUSES]})

    return respond


def outcome(value: Any = None, record_id: str = "r") -> Outcome[Any]:
    if value is None:
        return Outcome(record_id=record_id, error=structkit.OutputParseError("bad"))
    return Outcome(record_id=record_id, value=value)


def first_items(task: str, n: int) -> list[DatasetItem]:
    return load_dataset(DATASETS / f"{task}.jsonl", limit=n)


# --------------------------------------------------------------------------- statistics


def test_mean_std_and_percentiles() -> None:
    assert mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)
    assert mean_std([5.0]) == (5.0, 0.0)
    with pytest.raises(ConfigurationError):
        mean_std([])
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.5
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.5
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ConfigurationError):
        percentile([], 50)
    with pytest.raises(ConfigurationError):
        percentile([1.0], 101)
    with pytest.raises(DatasetError):
        parse_span_list("[1, 2]")


# --------------------------------------------------------------------------- list fields


def test_f1_edge_cases() -> None:
    both_empty = keyword_prf([], [])
    assert (both_empty.precision, both_empty.recall, both_empty.f1) == (1.0, 1.0, 1.0)
    missed = keyword_prf([], [["troponin"]])
    assert (missed.precision, missed.recall, missed.f1) == (0.0, 0.0, 0.0)
    invented = keyword_prf(["raised troponin"], [])
    assert (invented.precision, invented.recall, invented.f1) == (0.0, 0.0, 0.0)
    half = keyword_prf(["ST-elevation in II, III", "fever"], [["st elevation"], ["troponin"]])
    assert (half.precision, half.recall, half.f1) == (0.5, 0.5, 0.5)
    # Two predictions for one gold item: both are correct, but only one gold item is found.
    double = keyword_prf(["troponin high", "Raised TROPONIN"], [["troponin"], ["chest pain"]])
    assert (double.precision, double.recall) == (1.0, 0.5)
    assert double.f1 == pytest.approx(2 / 3)
    nothing = keyword_prf(["headache"], [["troponin"]])
    assert nothing.f1 == 0.0


def test_phrase_matching_is_whole_word_and_normalized() -> None:
    assert phrase_in("st elevation", "Anterior ST-elevation MI")
    assert phrase_in("MI", "acute MI")
    assert not phrase_in("mi", "vomiting")
    assert not phrase_in("", "anything")
    assert phrase_in("d dimer", "D-dimer 4200 ng/mL")


def test_format_compliance_and_ttft() -> None:
    assert answer_is_json('{"a": 1}')
    assert not answer_is_json('{"a": 1')
    assert not answer_is_json("NaN")
    assert not answer_is_json('{"a": 1, "a": 2}')
    assert answer_is_json('<think>hmm</think>{"a": 1}', reasoning=True)
    assert not answer_is_json('<think>still thinking {"a": 1}', reasoning=True)
    assert ttft_seconds({"first_token_latency": 0.25}) == 0.25
    assert ttft_seconds({"ttft_s": 0.5}) == 0.5
    assert ttft_seconds({}) is None
    assert ttft_seconds({"first_token_latency": 0.0}) is None  # vLLM's "not measured"


def test_peak_memory_counts_this_process() -> None:
    with PeakMemory(interval=0.01) as memory:
        block = bytearray(20 * 2**20)
    assert memory.peak_bytes > 20 * 2**20
    del block


# --------------------------------------------------------------------------- task scorers


def test_score_diagnosis_on_hand_made_answers() -> None:
    gold = {
        "condition": "Pulmonary embolism",
        "synonyms": ["PE"],
        "red_flags": [["hypoxia", "spo2"], ["tachycardia"]],
        "recommended_tests": [["ctpa", "ct pulmonary angiogram"], ["d dimer"]],
        "insufficient_information": False,
    }
    empty = {"condition": None, "synonyms": [], "red_flags": [], "recommended_tests": [],
             "insufficient_information": True}  # fmt: skip
    right = legacy.Diagnosis.model_validate(
        valid_diagnosis(
            differential=[
                {"condition": "Massive PE", "evidence": ["vitals"], "likelihood": 0.6,
                 "rationale": "x"},
            ],
            red_flags=["SpO2 86%"],
            recommended_tests=["CT pulmonary angiogram", "D-dimer"],
        )
    )  # fmt: skip
    second = legacy.Diagnosis.model_validate(
        valid_diagnosis(
            differential=[
                {"condition": "Pneumonia", "evidence": ["a"], "likelihood": 0.5, "rationale": "x"},
                {"condition": "Pulmonary embolism", "evidence": ["b"], "likelihood": 0.4,
                 "rationale": "x"},
            ],
            red_flags=[],
            recommended_tests=["Chest X-ray"],
        )
    )  # fmt: skip
    thin = legacy.Diagnosis.model_validate(
        valid_diagnosis(differential=[], insufficient_information=True, red_flags=[])
    )
    second.differential[0].ungrounded_evidence = ["a"]  # one of three citations unresolved
    scores = score_diagnosis(
        [outcome(right), outcome(second), outcome(thin), outcome(None)],
        [gold, gold, empty, gold],
    )
    assert scores["condition_top1"] == pytest.approx(1 / 3)  # the failure counts as wrong
    assert scores["condition_top3"] == pytest.approx(2 / 3)
    assert scores["insufficient_acc"] == pytest.approx(3 / 4)
    # Red flags: 1 predicted (correct) in total; gold 2 + 2 + 0 + 2 = 6, one found.
    assert scores["red_flags_precision"] == 1.0
    assert scores["red_flags_recall"] == pytest.approx(1 / 6)
    # Tests: predicted 2 + 1 + 0 (failure); correct 2; gold 2 per record with a condition.
    assert scores["tests_precision"] == pytest.approx(2 / 3)
    assert scores["tests_recall"] == pytest.approx(2 / 6)
    assert scores["grounded"] == pytest.approx(2 / 3)


STATEMENT = 'Line item,FY2024,FY2023\nRevenue,"1,000",900\nNet income,120,(15)\n'


def run_financials(tmp_path: Path, items: list[dict[str, str]]) -> Outcome[Any]:
    path = tmp_path / "s.csv"
    path.write_text(STATEMENT, encoding="utf-8")
    answer = json.dumps({"statement": "income_statement", "line_items": items, "narrative": ""})
    engine = structkit.FakeEngine(lambda _: answer)
    (result,) = structkit.run(FINANCIALS_MAPPING, [path], engine=engine)
    return result


def test_score_financials(tmp_path: Path) -> None:
    result = run_financials(
        tmp_path,
        [
            {"metric": "revenue", "source_label": "Revenue", "period": "FY2024", "value": "1,000"},
            {"metric": "revenue", "source_label": "Revenue", "period": "FY2023", "value": "900"},
            {"metric": "net_income", "source_label": "Net income", "period": "FY2024",
             "value": "120"},
        ],
    )  # fmt: skip
    assert result.ok
    gold = {
        "statement": "income_statement",
        "values": {
            "revenue": {"FY2024": 1000.0, "FY2023": 900.0},
            "net_income": {"FY2024": 120.0, "FY2023": -15.0},
        },
        "identity_break": False,
    }
    scores = score_financials([result, outcome(None)], [gold, gold])
    assert scores["value_acc"] == pytest.approx(3 / 8)  # 3 of 4, and 0 of 4 for the failure
    assert scores["items_precision"] == 1.0
    assert scores["items_recall"] == pytest.approx(3 / 8)
    assert scores["statement_acc"] == 0.5
    assert scores["break_acc"] == 0.5
    assert scores["grounded"] == 1.0


def test_score_clauses_spans_and_values() -> None:
    text = (
        "SUPPLY AGREEMENT\n\nThis Agreement is made on March 4, 2021 between Müller GmbH and "
        "Øresund A/S.\n\nThis Agreement is governed by the laws of the State of New York.\n"
    )
    law = "This Agreement is governed by the laws of the State of New York."
    start = text.index(law)
    gold = {
        "spans": [
            {"clause_type": "Governing Law", "text": law, "start": start, "end": start + len(law)},
            {"clause_type": "Parties", "text": "Müller GmbH", "start": text.index("Müller"),
             "end": text.index("Müller") + 11},
        ],
        "values": {"Governing Law": ["New York"], "Agreement Date": ["2021-03-04"]},
    }  # fmt: skip
    answer = json.dumps(
        {
            "clauses": [
                {"clause_type": "Governing Law", "text": law, "normalized": "State of New York"},
                {"clause_type": "Agreement Date", "text": law, "normalized": "2021-03-04"},
                {"clause_type": "Exclusivity", "text": "made up", "normalized": ""},
            ]
        }
    )
    engine = structkit.FakeEngine(lambda _: answer)
    (result,) = structkit.run("clauses", [text], engine=engine, grounding=False, mode="oneshot")
    assert result.ok and isinstance(result.value, ClauseExtraction)
    scores = score_clauses([result], [gold])
    # Predicted 3 (law right; the date span is not a gold span; exclusivity invented): P = 1/3.
    assert scores["clauses_precision"] == pytest.approx(1 / 3)
    assert scores["clauses_recall"] == 0.5  # the party name was not predicted
    assert scores["value_acc"] == 1.0  # "State of New York" contains "New York"; ISO date
    assert scores["grounded"] == pytest.approx(2 / 3)  # "made up" is not in the text


# --------------------------------------------------------------------------- datasets


def test_dataset_loading(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text('{"age": 40}', encoding="utf-8")
    lines = [
        {"id": "a", "input": "r.json", "gold": {}},
        {"id": "b", "input": {"age": 3}, "gold": {"x": 1}},
        {"id": "c", "input": "line one\nline two", "gold": {}},
        {"id": "d", "input": "missing.json", "gold": {}},
    ]
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n", encoding="utf-8")
    items = load_dataset(path)
    assert [i.id for i in items] == ["a", "b", "c", "d"]
    assert items[0].input == tmp_path / "r.json"
    assert items[1].input == {"age": 3} and items[1].gold == {"x": 1}
    assert items[2].input == "line one\nline two"
    assert items[3].input == "missing.json"  # not a file: stays text
    assert len(load_dataset(path, limit=2)) == 2
    path.write_text(json.dumps(lines[0]) + "\n" + json.dumps(lines[0]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: duplicate id"):
        load_dataset(path)
    path.write_text('{"id": "x", "input": 1}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="line 1"):
        load_dataset(path)


def test_shipped_datasets_are_consistent() -> None:
    counts = {"diagnosis": 30, "financials": 16, "financials_synthetic": 28, "clauses": 50}
    for task, count in counts.items():
        items = load_dataset(DATASETS / f"{task}.jsonl")
        assert len(items) == count, task
        for item in items:
            assert isinstance(item.input, (dict, Path)), item.id
            if isinstance(item.input, Path):
                assert item.input.is_file(), item.id
    diagnosis = load_dataset(DATASETS / "diagnosis.jsonl")
    assert sum(i.gold["insufficient_information"] for i in diagnosis) == 3
    for item in load_dataset(DATASETS / "clauses.jsonl"):
        text = item.input.read_text(encoding="utf-8-sig")
        for span in item.gold["spans"]:
            if span["start"] >= 0:  # a few CUAD spans are not in the text: scored by text
                assert text[span["start"] : span["end"]] == span["text"], item.id
    breaks = 0
    for item in load_dataset(DATASETS / "financials_synthetic.jsonl"):
        flagged = bool(check_table(load(item.input)))
        assert flagged == item.gold["identity_break"], item.id
        breaks += flagged
    assert breaks >= 4


ORACLES = {
    "diagnosis_freeform": diagnosis_oracle,
    "financials": financials_oracle,
    "clauses": clauses_oracle,
}


@pytest.mark.parametrize("task", list(ORACLES))
def test_gold_answers_score_perfectly_on_the_shipped_datasets(task: str) -> None:
    """Dataset and scorer agree: answering the gold (within the grounded schema, in at most
    MAX_CLAUSES clauses) scores 1 on every accuracy metric."""
    items = load_dataset(DATASETS / f"{task.removesuffix('_freeform')}.jsonl")
    settings = None
    if task == "clauses":
        # The one-shot oracle (candidate spans holding the gold, at most MAX_CLAUSES, values
        # of at most 120 characters) fits the synthetic items and the two CUAD samples; the 24
        # added CUAD contracts have gold beyond it, checked against the scorer directly below.
        samples = ("cuad_netzee_maintenance_agreement", "cuad_agape_supply_agreement")
        items = [i for i in items if not i.id.startswith("cuad_") or i.id in samples]
        settings = [{"mode": "oneshot"}]
    engine = structkit.FakeEngine(ORACLES[task](items))  # type: ignore[operator]
    # Tasks with modes are evaluated in each; the first (default) one uses the model.
    config = evaluate(task, items, engines=[engine], settings=settings).configs[0]
    for metric in ("schema_valid", "format_ok", "grounded", *ACCURACY_METRICS[task]):
        stat = config.stat(metric)
        assert stat is not None and stat.mean == 1.0, (metric, stat)


def test_gold_spans_as_predictions_score_perfectly_on_every_clauses_item() -> None:
    items = load_dataset(DATASETS / "clauses.jsonl")
    outcomes = []
    for item in items:
        clauses = [
            Clause.model_construct(
                clause_type=span["clause_type"],
                text=span["text"],
                normalized="",
                start=span["start"],
                end=span["end"],
                verified=span["start"] >= 0,
            )
            for span in item.gold["spans"]
        ]
        outcomes.append(outcome(ClauseExtraction.model_construct(clauses=clauses), item.id))
    scores = score_clauses(outcomes, [i.gold for i in items])
    assert scores["clauses_f1"] == 1.0 and scores["cuad_f1"] == 1.0
    assert all(v == 1.0 for k, v in scores.items() if k.startswith("by_type/"))


def test_make_datasets_is_reproducible() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_datasets.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --------------------------------------------------------------------------- harness


def test_evaluate_oracle_scores_perfectly_and_std_is_zero() -> None:
    items = first_items("diagnosis", 4) + load_dataset(DATASETS / "diagnosis.jsonl")[-1:]
    engine = structkit.FakeEngine(diagnosis_oracle(items))
    result = evaluate(legacy.DIAGNOSIS, items, engines=[engine], runs=3)
    (config,) = result.configs
    assert len(config.runs) == 3
    assert [len(c) for c in engine.calls] == [1, 5, 5, 5]  # untimed warm-up, one batch per run
    for metric in ("schema_valid", "format_ok", "condition_top1", "red_flags_f1", "grounded"):
        stat = config.stat(metric)
        assert stat is not None and (stat.mean, stat.std, stat.n) == (1.0, 0.0, 3), metric
    assert config.stat("ttft_p50_s") is None  # the fake engine reports no TTFT
    assert [r.seed for r in engine.calls[2]] != [r.seed for r in engine.calls[1]]  # seed + run


def test_mean_and_std_over_runs() -> None:
    items = first_items("diagnosis", 3)
    engine: structkit.FakeEngine
    # Runs 1 and 3 answer right, run 2 wrong: top-1 accuracy 1, 0, 1.
    engine = structkit.FakeEngine(diagnosis_oracle(items, wrong=lambda: len(engine.calls) == 2))
    result = evaluate(legacy.DIAGNOSIS, items, engines=[engine], runs=3, warmup=False)
    stat = result.configs[0].stat("condition_top1")
    assert stat is not None
    assert stat.mean == pytest.approx(2 / 3)
    assert stat.std == pytest.approx(math.sqrt(1 / 3))  # sample std of (1, 0, 1)
    assert str(stat) == "0.667 ± 0.577"


def test_format_compliance_counts_every_attempt() -> None:
    items = first_items("diagnosis", 2)
    oracle = diagnosis_oracle(items)
    engine: structkit.FakeEngine
    engine = structkit.FakeEngine(lambda r: "not json" if len(engine.calls) == 1 else oracle(r))
    result = evaluate(legacy.DIAGNOSIS, items, engines=[engine], warmup=False)
    config = result.configs[0]
    assert config.stat("format_ok").mean == 0.5  # type: ignore[union-attr]
    assert config.stat("schema_valid").mean == 1.0  # type: ignore[union-attr]
    assert config.stat("attempts").mean == 2.0  # type: ignore[union-attr]


def test_ttft_from_engine_metrics_and_batches() -> None:
    items = first_items("diagnosis", 4)
    oracle = diagnosis_oracle(items)

    def respond(request: GenerationRequest) -> Completion:
        text = oracle(request)
        return Completion(text, "stop", 10, 10, metrics={"first_token_latency": 0.2})

    engine = structkit.FakeEngine(respond)
    result = evaluate(legacy.DIAGNOSIS, items, engines=[engine], batch_size=3, warmup=False)
    config = result.configs[0]
    assert [len(c) for c in engine.calls] == [3, 1]
    assert config.stat("ttft_p50_s").mean == 0.2  # type: ignore[union-attr]
    assert len(config.runs[0].ttfts) == 4 and len(config.latencies()) == 4
    # Records of a batch share its latency.
    assert config.runs[0].latencies[0] == config.runs[0].latencies[2]


class ClosingEngine(structkit.FakeEngine):
    open_engines: list[str] = []  # noqa: RUF012 - shared on purpose, across instances

    def __init__(self, responder: Any, name: str):
        super().__init__(responder, model_name=name)
        assert not ClosingEngine.open_engines, "two engines alive at once"
        ClosingEngine.open_engines.append(name)

    def close(self) -> None:
        ClosingEngine.open_engines.remove(self.model_name)


def test_models_loaded_one_at_a_time_with_settings() -> None:
    items = first_items("diagnosis", 2)
    made: list[str | None] = []

    def factory(model: str | None) -> ClosingEngine:
        made.append(model)
        return ClosingEngine(diagnosis_oracle(items), model or "default")

    result = evaluate(
        legacy.DIAGNOSIS,
        items,
        models=["model-a", "model-b"],
        settings=[{}, {"grounding": False}, {"format": "markdown", "temperature": 0.7}],
        runs=2,
        engine_factory=factory,
    )
    assert made == ["model-a", "model-b"] and not ClosingEngine.open_engines
    labels = [(c.model, setting_label(c.setting)) for c in result.configs]
    assert labels[:3] == [
        ("model-a", "default"),
        ("model-a", "grounding=false"),
        ("model-a", "format=markdown, temperature=0.7"),
    ]
    assert len(result.configs) == 6 and all(len(c.runs) == 2 for c in result.configs)
    ungrounded = result.configs[1].stat("grounded")
    assert ungrounded is not None and ungrounded.mean == 0.0  # no enum: invented label cited
    with pytest.raises(ValueError, match="settings may not set"):
        evaluate(
            legacy.DIAGNOSIS, items, engines=[ClosingEngine(None, "x")], settings=[{"model": 1}]
        )
    ClosingEngine.open_engines.clear()


def test_parse_setting() -> None:
    assert parse_setting("default") == {}
    assert parse_setting("") == {}
    assert parse_setting("grounding=false, temperature=0.7") == {
        "grounding": False,
        "temperature": 0.7,
    }
    assert parse_setting("format=markdown,thinking-budget=0,max_tokens=none") == {
        "format": "markdown",
        "thinking_budget": 0,
        "max_tokens": None,
    }
    with pytest.raises(ValueError, match="bad setting"):
        parse_setting("model=x")
    with pytest.raises(ValueError, match="bad value for samples"):
        parse_setting("samples=many")
    with pytest.raises(ValueError, match="bad value for grounding"):
        parse_setting("grounding=maybe")


# --------------------------------------------------------------------------- reports


def small_evaluation() -> Evaluation:
    items = first_items("diagnosis", 3)
    engine = structkit.FakeEngine(diagnosis_oracle(items))
    return evaluate(
        legacy.DIAGNOSIS, items, engines=[engine], settings=[{}, {"grounding": False}], runs=2
    )


def test_markdown_report_tables() -> None:
    text = to_markdown(small_evaluation())
    assert "### Quality" in text and "### Performance" in text
    header = next(line for line in text.splitlines() if line.startswith("| model | setting"))
    assert "schema-valid" in header and "condition_top1" in header
    rows = [line for line in text.splitlines() if line.startswith("| fake-model |")]
    assert len(rows) == 4  # 2 settings x (quality + performance)
    assert "1.000 ± 0.000" in rows[0]
    assert "n/a" in rows[2]  # TTFT not reported by the fake engine


def test_html_report_is_self_contained_with_plots(tmp_path: Path) -> None:
    evaluation = small_evaluation()
    page = to_html(evaluation)
    assert page.count('<rect class="bar') == 2 * len(evaluation.accuracy_metrics)
    assert page.count('<g class="box"') == 2
    assert '<table id="quality">' in page and '<table id="performance">' in page
    assert not re.search(r"https?://|<script|<link|<img|@import", page)
    paths = write_report(evaluation, tmp_path / "out")
    assert {p.name for p in paths.values()} == {"report.md", "report.html", "results.json"}
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["task"] == "diagnosis_freeform" and len(data["configs"]) == 2
    assert data["configs"][0]["summary"]["schema_valid"] == {"mean": 1.0, "std": 0.0}


def test_cli_eval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    items = first_items("diagnosis", 3)
    parser = argparse.ArgumentParser()
    add_eval_parser(parser.add_subparsers(dest="command"))
    argv = ["eval", "diagnosis_freeform", str(DATASETS / "diagnosis.jsonl"), "--limit", "3"]
    argv += ["--model", "m1", "--setting", "default", "--setting", "grounding=false"]
    argv += ["--runs", "2", "--out", str(tmp_path / "report")]
    args = parser.parse_args(argv)
    code = run_eval(args, engine_factory=lambda m: structkit.FakeEngine(
        diagnosis_oracle(items), model_name=m or "x"))  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "| m1 | grounding=false |" in out
    assert (tmp_path / "report" / "report.html").is_file()
    bad = parser.parse_args([*argv[:3], "--setting", "nonsense=1"])
    assert run_eval(bad) == 2
    assert "bad setting" in capsys.readouterr().err


def test_score_type_is_the_cuad_one() -> None:
    assert Score(predicted=0, gold=0, correct_predicted=0, found_gold=0).f1 == 1.0


def test_benchmark_smoke_on_fake_engine() -> None:
    script = str(ROOT / "scripts" / "benchmark.py")
    done = subprocess.run(
        [sys.executable, script, "--fake", "--rounds", "1", "--records", "2"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for title in ("## overhead", "## batching", "## constrained", "## prompt tokens", "## prefix"):
        assert title in done.stdout


def test_cli_eval_compares_every_mode_by_default(tmp_path: Path) -> None:
    items = load_dataset(DATASETS / "financials.jsonl", limit=4)
    parser = argparse.ArgumentParser()
    add_eval_parser(parser.add_subparsers(dest="command"))
    argv = ["eval", "financials", str(DATASETS / "financials.jsonl"), "--limit", "4"]
    args = parser.parse_args([*argv, "--runs", "1", "--out", str(tmp_path / "r")])
    code = run_eval(args, engine_factory=lambda m: structkit.FakeEngine(financials_oracle(items)))
    assert code == 0
    data = json.loads((tmp_path / "r" / "results.json").read_text(encoding="utf-8"))
    assert [c["setting"] for c in data["configs"]] == [{"mode": "model"}, {"mode": "baseline"}]
