"""Bad input to every public function and CLI command: what escapes is a StructkitError whose
message names no record content (records may hold patient data; messages end up in logs)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

import structkit
from structkit import FakeEngine, StructkitError
from structkit.adapters import load
from structkit.evaluation import evaluate
from structkit.testing import freeform_diagnosis as legacy

SECRET = "Jane-SECRET-Doe"


def _never(request: Any) -> str:
    raise AssertionError("the model must not be called for bad input")


@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, Path]:
    files = {
        "json": f'{{"name": "{SECRET}", ',
        "xml": f'<!DOCTYPE a [<!ENTITY x "{SECRET}">]><a>&x;</a>',
        "csv": f'a,b\n"{SECRET}",1,2\n',
        "txt": "",
        "jsonl": f'{{"id": 1, "name": "{SECRET}"\n',
    }
    out = {}
    for suffix, text in files.items():
        path = tmp_path / f"bad.{suffix}"
        path.write_text(text)
        out[suffix] = path
    out["missing"] = tmp_path / "missing.txt"
    return out


def _assert_clean(call: Callable[[], Any]) -> StructkitError:
    with pytest.raises(StructkitError) as info:
        call()
    shown = f"{info.value!s} {info.value!r}"
    assert SECRET not in shown
    return info.value


SOURCES = ["json", "xml", "csv", "txt", "missing"]


@pytest.mark.parametrize("kind", SOURCES)
def test_task_functions_raise_typed_clean_errors(kind: str, bad_files: dict[str, Path]) -> None:
    engine = FakeEngine(_never)
    path = bad_files[kind]
    for function in (structkit.diagnose, structkit.analyze_financials, structkit.extract_clauses):
        _assert_clean(lambda f=function: f(path, engine=engine))  # type: ignore[misc]
    _assert_clean(lambda: load(path))


@pytest.mark.parametrize("kind", SOURCES)
def test_batch_functions_keep_bad_records_as_typed_outcomes(
    kind: str, bad_files: dict[str, Path]
) -> None:
    engine = FakeEngine(_never)
    for outcome in structkit.diagnose_many([bad_files[kind]], engine=engine) + structkit.run(
        "clauses", [bad_files[kind]], engine=engine
    ):
        assert isinstance(outcome.error, StructkitError)
        assert SECRET not in str(outcome.error)


@pytest.mark.parametrize(
    "options",
    [
        {"samples": 0},
        {"max_attempts": 0},
        {"mode": "no-such-mode"},
        {"format": "yaml"},
    ],
)
def test_bad_options_are_configuration_errors(options: dict[str, Any]) -> None:
    engine = FakeEngine(_never)
    # The classic path: question-mode tasks (structkit.diagnose) do not render the record, so
    # they never read `format` (the runner validates it only where it is used).
    error = _assert_clean(lambda: legacy.diagnose_many([{"a": 1}], engine=engine, **options))
    assert isinstance(error, structkit.ConfigurationError)


def test_unknown_task_is_a_configuration_error() -> None:
    _assert_clean(lambda: structkit.run("no-such-task", [{"a": 1}], engine=FakeEngine(_never)))
    _assert_clean(lambda: structkit.get_task("no-such-task"))


def test_run_batch_never_stops_on_bad_rows(bad_files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    summary = structkit.run_batch("diagnosis", bad_files["jsonl"], out, engine=FakeEngine(_never))
    assert summary.failed == 1
    line = json.loads(out.read_text().splitlines()[0])
    assert SECRET not in json.dumps(line["error"])
    _assert_clean(
        lambda: structkit.run_batch(
            "diagnosis", bad_files["missing"], tmp_path / "o2.jsonl", engine=FakeEngine(_never)
        )
    )


def test_evaluate_rejects_bad_datasets(tmp_path: Path) -> None:
    dataset = tmp_path / "bad.jsonl"
    dataset.write_text(f'{{"id": "a", "input": "{SECRET}"}}\n')
    _assert_clean(lambda: evaluate("diagnosis", dataset, engines=[FakeEngine(_never)]))
    _assert_clean(lambda: evaluate("diagnosis", dataset, runs=0, engines=[FakeEngine(_never)]))


def test_stream_task_raises_typed_errors(bad_files: dict[str, Path]) -> None:
    class Streams:
        model_name = "fake"
        profile = FakeEngine(_never).profile

        def count_tokens(self, text: str) -> int:
            return len(text) // 4

        def stream(self, request: Any) -> Any:
            raise AssertionError("the model must not be called for bad input")

    for kind in SOURCES:
        _assert_clean(
            lambda k=kind: list(  # type: ignore[misc]
                structkit.stream_task("diagnosis", bad_files[k], engine=Streams())
            )
        )


# --------------------------------------------------------------------------- the CLI


def _cli(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, str]:
    from structkit import cli
    from structkit.engines import _select

    # Every command resolves its engine through engines.resolve_engine, which builds named
    # engines with these two; no environment variable here names a server.
    monkeypatch.setattr(_select, "engine_named", lambda engine, model, **_: FakeEngine(_never))
    monkeypatch.setattr(_select, "new_engine", lambda engine, model, **_: FakeEngine(_never))
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = cli.main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("command", ["diagnose", "financials", "clauses"])
@pytest.mark.parametrize("kind", SOURCES)
def test_cli_task_commands_report_typed_clean_errors(
    command: str, kind: str, bad_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = _cli(monkeypatch, command, str(bad_files[kind]))
    assert code == 1
    assert out == ""
    assert "Error" in err and SECRET not in err


def test_cli_run_batch_and_eval_report_typed_clean_errors(
    bad_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = _cli(monkeypatch, "run", "diagnosis", str(bad_files["xml"]))
    assert code == 1 and "UnsafeInputError" in err and SECRET not in err
    code, _, err = _cli(monkeypatch, "run", "no-such-task", str(bad_files["json"]))
    assert code != 0 and SECRET not in err
    code, _, err = _cli(
        monkeypatch,
        "batch",
        "diagnosis",
        str(bad_files["jsonl"]),
        "--out",
        str(tmp_path / "o.jsonl"),
    )
    assert code == 1 and SECRET not in err
    dataset = tmp_path / "bad.jsonl"
    dataset.write_text(f'{{"id": "a", "input": "{SECRET}"}}\n')
    code, _, err = _cli(monkeypatch, "eval", "diagnosis", str(dataset))
    assert code != 0 and SECRET not in err
