"""A tiny question-mode task and patient records for the Ray executor's tests and benchmark.

One small question per record (a few prompt tokens, at most 8 answer tokens), so a job of
hundreds of records makes real engine calls in about a minute on 2 cores: a smoke test of an
engine, a server or a Ray cluster end to end. Its ``baseline`` mode asks nothing (code only).
Lives in an importable module: Ray's workers import it by name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from .._task import Answers, Question, QuestionContext, Task
from ..adapters import Record

COMPLAINTS = ["chest pain", "shortness of breath", "fever and cough", "headache"]


class Probe(BaseModel):
    complaint: str
    painful: Literal["yes", "no"] | None


def _complaint(record: Record) -> str:
    values = [v for s in record.sections for v in [*s.values, *(v for row in s.rows for v in row)]]
    return next((v.text for v in values if v.key == "complaint"), "")


def _probe_questions(record: Record, context: QuestionContext) -> list[Question]:
    if context.mode == "baseline":
        return []
    complaint = _complaint(record)
    schema = {
        "type": "object",
        "properties": {"choice": {"enum": ["yes", "no"]}},
        "required": ["choice"],
        "additionalProperties": False,
    }
    content = f"Is '{complaint}' a kind of pain? Answer yes or no."
    return [
        Question(
            key="painful",
            messages=[{"role": "user", "content": content}],
            json_schema=schema,
            max_tokens=8,
        )
    ]


def _probe_assemble(record: Record, answers: Answers) -> dict[str, Any]:
    complaint = _complaint(record)
    answer = answers.values.get("painful")
    return {"complaint": complaint, "painful": answer["choice"] if answer else None}


PROBE: Task[Probe] = Task(
    name="ray-probe",
    output_model=Probe,
    modes=("model", "baseline"),
    questions=_probe_questions,
    assemble=_probe_assemble,
)


def write_probe_records(path: Path, count: int, *, broken: bool = False) -> list[str]:
    """A JSON Lines file of ``count`` patients (id field ``id``); returns their ids."""
    ids = [f"pt-{n:03d}" for n in range(count)]
    with open(path, "w") as handle:
        for n, pid in enumerate(ids):
            record = {
                "id": pid,
                "age": 30 + n % 50,
                "sex": "female" if n % 2 else "male",
                "complaint": COMPLAINTS[n % len(COMPLAINTS)],
                "vitals": {"heart_rate": 60 + n % 40, "temperature_c": 36.5 + (n % 5) / 2},
            }
            handle.write(json.dumps(record) + "\n")
        if broken:
            handle.write('{"id": "pt-bad", "age": \n')  # malformed: an error line, not a crash
            handle.write(json.dumps({"id": ids[0], "age": 99}) + "\n")  # a duplicate id
    return ids
