"""The one settings object: every way in reads the same names, defaults and rules from it."""

import pytest

import structkit
from structkit import ConfigurationError, FakeEngine, RunOptions, Settings, profile_for
from structkit.cli import _task_options, build_parser
from structkit.evaluation import parse_setting

PROFILE = profile_for("HuggingFaceTB/SmolLM2-135M-Instruct")


def test_run_options_are_the_settings_plus_engine_and_model():
    assert set(RunOptions.__annotations__) == {*Settings.names(), "engine", "model"}


def test_the_cli_defaults_are_the_librarys():
    args = build_parser().parse_args(["diagnose", "record.json"])
    options = dict(_task_options(args))
    assert options.pop("model") is None and options.pop("engine") is None
    assert options == Settings().options()


def test_the_cli_reads_every_setting():
    argv = ["clauses", "c.txt", "--attempts", "3", "--samples", "2", "--seed", "7"]
    argv += ["--format", "text", "--no-grounding", "--temperature", "0.5", "--mode", "baseline"]
    argv += ["--max-tokens", "99", "--thinking-budget", "5"]
    options = _task_options(build_parser().parse_args(argv))
    assert Settings.from_options(options) == Settings(
        max_attempts=3,
        samples=2,
        seed=7,
        format="text",
        grounding=False,
        temperature=0.5,
        mode="baseline",
        max_tokens=99,
        thinking_budget=5,
    )


def test_eval_settings_parse_every_name_and_only_those():
    assert set(parse_setting("samples=2, grounding=off, mode=baseline")) == {
        "samples",
        "grounding",
        "mode",
    }
    with pytest.raises(ConfigurationError, match="keys format, grounding"):
        parse_setting("engine=vllm")


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"samples": 0}, "at least 1"),
        ({"max_attempts": 0}, "at least 1"),
        ({"format": "yaml"}, "unknown format 'yaml'"),
        ({"temprature": 0.3}, "unknown option\\(s\\): temprature"),
    ],
)
def test_bad_options_are_a_configuration_error(options, problem):
    with pytest.raises(ConfigurationError, match=problem):
        Settings.from_options(options)
    with pytest.raises(ConfigurationError, match=problem):
        structkit.run("diagnosis", [{"age": 40}], engine=FakeEngine(lambda r: "{}"), **options)


def test_settings_are_frozen_and_changes_are_checked():
    settings = Settings(seed=3)
    with pytest.raises(AttributeError):
        settings.seed = 4  # type: ignore[misc]
    assert settings.with_changes({"seed": 4}).seed == 4
    with pytest.raises(ConfigurationError, match="unknown option"):
        settings.with_changes({"engine": "vllm"})
    with pytest.raises(ConfigurationError, match="at least 1"):
        settings.with_changes({"samples": 0})


def test_resolve_gives_the_mode_temperature_budget_and_format_once():
    task = structkit.get_task("clauses")
    resolved = Settings().resolve(task, PROFILE)
    assert resolved.mode == task.modes[0]
    assert resolved.format == task.format
    expected_temperature = task.temperature if task.temperature is not None else PROFILE.temperature
    assert resolved.temperature == expected_temperature
    assert (
        resolved.answer_tokens == (task.max_tokens or PROFILE.max_tokens) + PROFILE.thinking_tokens
    )
    chosen = Settings(temperature=0.9, max_tokens=50, format="kv", mode="baseline")
    resolved = chosen.resolve(task, PROFILE)
    assert (resolved.temperature, resolved.answer_tokens, resolved.format, resolved.mode) == (
        0.9,
        50,
        "kv",
        "baseline",
    )
    with pytest.raises(ConfigurationError, match="has no mode 'nonsense'"):
        Settings(mode="nonsense").resolve(task, PROFILE)


def test_the_audit_records_the_resolved_settings():
    (outcome,) = structkit.run(
        "clauses",
        ["This Agreement is governed by the laws of Delaware."],
        engine=FakeEngine(lambda r: "{}"),
        mode="baseline",
        seed=5,
    )
    sampling = outcome.audit["sampling"]
    resolved = Settings(mode="baseline", seed=5).resolve(structkit.get_task("clauses"), PROFILE)
    assert outcome.audit["mode"] == "baseline"
    assert sampling == resolved.sampling()


def test_run_task_takes_settings_or_options_not_both():
    from structkit._runner import run_task  # the runner's own entry (not public)

    task = structkit.get_task("diagnosis")
    engine = FakeEngine(lambda r: "{}")
    with pytest.raises(ConfigurationError, match="not both"):
        run_task(task, [{"age": 1}], engine=engine, settings=Settings(), seed=1)
    (by_object,) = run_task(task, [{"age": 50}], engine=engine, settings=Settings(mode="baseline"))
    (by_keyword,) = run_task(task, [{"age": 50}], engine=engine, mode="baseline")
    assert by_object.value == by_keyword.value
