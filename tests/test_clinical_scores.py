"""NEWS2, qSOFA and SIRS against the RCP NEWS2 chart (every band edge) and against an independent,
table-driven NEWS2 written here from the chart, over a grid of vital-sign sets."""

from __future__ import annotations

import itertools
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from structkit import ConfigurationError
from structkit.adapters import load
from structkit.clinical.findings import extract_findings, measurements_of
from structkit.clinical.scores import (
    VitalContext,
    compute_scores,
    news2,
    news2_points,
    news2_series,
    read_context,
    rule_red_flags,
)

# RCP NEWS2 chart 1 (and chart 2 for SpO2 Scale 2) as (low, high inclusive, points) bands.
_CHART: dict[str, list[tuple[float, float, int]]] = {
    "respiratory_rate": [(0, 8, 3), (9, 11, 1), (12, 20, 0), (21, 24, 2), (25, 99, 3)],
    "spo2": [(0, 91, 3), (92, 93, 2), (94, 95, 1), (96, 100, 0)],
    "systolic_bp": [(0, 90, 3), (91, 100, 2), (101, 110, 1), (111, 219, 0), (220, 400, 3)],
    "heart_rate": [
        (0, 40, 3),
        (41, 50, 1),
        (51, 90, 0),
        (91, 110, 1),
        (111, 130, 2),
        (131, 300, 3),
    ],
    "temperature": [(0, 35.0, 3), (35.1, 36.0, 1), (36.1, 38.0, 0), (38.1, 39.0, 1), (39.1, 45, 2)],
}
_SCALE2_AIR = [(0, 83, 3), (84, 85, 2), (86, 87, 1), (88, 100, 0)]
_SCALE2_OXYGEN = [
    (0, 83, 3),
    (84, 85, 2),
    (86, 87, 1),
    (88, 92, 0),
    (93, 94, 1),
    (95, 96, 2),
    (97, 100, 3),
]


def _chart_precision(name: str, value: float) -> float:
    """The chart is read in whole numbers (temperature: one decimal), rounded half up."""
    step = Decimal("0.1") if name == "temperature" else Decimal("1")
    return float(Decimal(str(value)).quantize(step, rounding=ROUND_HALF_UP))


def _lookup(bands: list[tuple[float, float, int]], value: float) -> int:
    for low, high, points in bands:
        if low <= value <= high:
            return points
    raise AssertionError(value)


def _independent_news2(
    vitals: dict[str, float], *, oxygen: bool, alert: bool, scale_2: bool
) -> int:
    total = 0
    for name, value in vitals.items():
        if name == "spo2" and scale_2:
            total += _lookup(_SCALE2_OXYGEN if oxygen else _SCALE2_AIR, value)
        else:
            total += _lookup(_CHART[name], value)
    return total + (2 if oxygen else 0) + (0 if alert else 3)


@pytest.mark.parametrize("parameter", sorted(_CHART))
def test_every_band_edge_of_the_chart(parameter):
    for low, high, points in _CHART[parameter]:
        for value in (low, high):
            assert news2_points(parameter, value) == points, (parameter, value)


def test_spo2_scale_2_on_air_and_on_oxygen():
    for value in range(70, 101):
        assert news2_points("spo2", value, scale_2=True, on_oxygen=False) == _lookup(
            _SCALE2_AIR, value
        )
        assert news2_points("spo2", value, scale_2=True, on_oxygen=True) == _lookup(
            _SCALE2_OXYGEN, value
        )


def test_a_parameter_outside_the_chart_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="not a numeric NEWS2 parameter"):
        news2_points("blood_glucose", 5.0)


def _record(vitals: dict[str, float], *, oxygen: bool, alert: bool, scale_2: bool) -> dict:
    return {
        "vitals": {
            "respiratory_rate": vitals["respiratory_rate"],
            "spo2_percent": vitals["spo2"],
            "blood_pressure_mmhg": f"{vitals['systolic_bp']:g}/70",
            "heart_rate_bpm": vitals["heart_rate"],
            "temperature_c": vitals["temperature"],
            "supplemental_oxygen": "yes" if oxygen else "no",
            "acvpu": "A" if alert else "C",
            "spo2_scale": "2" if scale_2 else "1",
        }
    }


GRID = list(
    itertools.product(
        (7, 10, 16, 22, 27),
        (84, 87, 90, 93, 95, 97),
        (85, 95, 105, 150, 225),
        (38, 45, 70, 100, 120, 140),
        (34.8, 35.5, 37.0, 38.6, 39.4),
    )
)


@pytest.mark.parametrize("oxygen,alert,scale_2", list(itertools.product((False, True), repeat=3)))
def test_news2_matches_the_independent_implementation_from_a_record(oxygen, alert, scale_2):
    names = ("respiratory_rate", "spo2", "systolic_bp", "heart_rate", "temperature")
    for row in GRID[::37]:  # a spread of ~120 sets per flag combination keeps this fast
        vitals = dict(zip(names, row, strict=True))
        record = load(_record(vitals, oxygen=oxygen, alert=alert, scale_2=scale_2))
        score = news2(extract_findings(record), read_context(record))
        assert score.complete
        assert score.value == _independent_news2(
            vitals, oxygen=oxygen, alert=alert, scale_2=scale_2
        )


def test_missing_inputs_are_listed_and_the_score_is_a_lower_bound():
    record = load({"vitals": {"heart_rate_bpm": 135}})
    score = news2(extract_findings(record), read_context(record))
    assert score.value == 3 and not score.complete
    assert set(score.missing) == {
        "respiratory_rate",
        "spo2",
        "systolic_bp",
        "temperature",
        "air_or_oxygen",
        "consciousness",
    }
    assert score.inputs[0].pointers == ["/vitals/heart_rate_bpm"]


def test_temperature_in_fahrenheit_is_converted_before_scoring():
    record = load({"vitals": {"temperature_f": 102.9}})  # 39.4 °C
    assert news2(extract_findings(record), VitalContext()).inputs[0].points == 2


def test_rule_red_flags_fire_on_the_rules_only():
    septic = load(
        {
            "vitals": {
                "respiratory_rate": 26,
                "blood_pressure_mmhg": "88/50",
                "heart_rate_bpm": 125,
                "temperature_c": 39.4,
                "spo2_percent": 91,
                "new_confusion": "yes",
            }
        }
    )
    findings = extract_findings(septic)
    scores = compute_scores(findings, read_context(septic))
    by_name = {s.name: s for s in scores}
    assert by_name["NEWS2"].value == 3 + 3 + 3 + 2 + 2 + 3  # oxygen not recorded: lower bound
    assert by_name["qSOFA"].value == 3 and by_name["SIRS"].value == 3
    rules = {f.rule for f in rule_red_flags(findings, scores)}
    assert {"NEWS2 >= 7", "single NEWS2 parameter = 3", "qSOFA >= 2"} <= rules
    calm = load(
        {
            "vitals": {
                "respiratory_rate": 14,
                "blood_pressure_mmhg": "120/80",
                "heart_rate_bpm": 70,
                "temperature_c": 36.8,
            }
        }
    )
    calm_findings = extract_findings(calm)
    assert rule_red_flags(calm_findings, compute_scores(calm_findings, read_context(calm))) == []


DATASET = Path(__file__).resolve().parents[1] / "datasets" / "diagnosis_real.jsonl"


def test_news2_on_every_vitals_set_of_the_benchmark_matches_the_independent_implementation():
    items = [json.loads(line) for line in DATASET.read_text().splitlines()]
    checked = 0
    for item in items:
        record = load(DATASET.parent / item["input"])
        measurements, _ = measurements_of(record)
        for score in news2_series(measurements, read_context(record)):
            vitals = {
                m.measure: m.value
                for m in measurements
                if m.date == score.date and m.measure in _CHART
            }
            expected = sum(
                _lookup(_CHART[name], _chart_precision(name, v)) for name, v in vitals.items()
            )
            assert score.value == expected, (item["id"], score.date)
            checked += 1
    assert checked >= 40  # every bundle with vital signs contributes at least one set
