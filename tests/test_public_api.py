import importlib
import inspect

import pytest

import structkit
import structkit._errors as errors

#: The top-level API, pinned: a name added to or dropped from ``structkit.__all__`` fails here
#: until this list says so (both ways).
PUBLIC = frozenset(
    {
        "AdapterError",
        "Answers",
        "BatchSummary",
        "CLAUSES",
        "Clause",
        "ClauseExtraction",
        "Completion",
        "ConfigurationError",
        "DEFAULT_MODEL",
        "DIAGNOSIS",
        "DatasetError",
        "Diagnosis",
        "DifferentialItem",
        "DuplicateIdError",
        "Engine",
        "EngineRequestError",
        "EngineUnavailableError",
        "FINANCIALS",
        "FakeEngine",
        "Financials",
        "GenerationRequest",
        "InputError",
        "LlamaCppEngine",
        "MissingExtraError",
        "ModelError",
        "ModelNotFoundError",
        "ModelPreparationError",
        "ModelProfile",
        "NotAStatementError",
        "Outcome",
        "OutputError",
        "OutputParseError",
        "OutputValidationError",
        "Question",
        "QuestionContext",
        "RecordParseError",
        "RecordTooLargeError",
        "RemoteTaskError",
        "RunOptions",
        "SchemaError",
        "ServerEngine",
        "Settings",
        "ServiceBusyError",
        "StreamEvent",
        "StructkitError",
        "Task",
        "TaskCommand",
        "TemplateError",
        "ThinkingBudgetError",
        "TruncatedOutputError",
        "UnitError",
        "UnsafeInputError",
        "VLLMEngine",
        "adapters",
        "analyze_financials",
        "clauses_task",
        "diagnose",
        "diagnose_many",
        "diagnosis_task",
        "extract_clauses",
        "fence",
        "get_task",
        "prepare_default_model",
        "profile_for",
        "register_profile",
        "register_task",
        "render_template",
        "run",
        "run_batch",
        "stream_task",
        "task_names",
        "token_counter",
        "tune",
        "with_adapter",
    }
)


def test_all_is_pinned_both_ways():
    assert set(structkit.__all__) == PUBLIC
    # ... and nothing of structkit's at the top level escapes __all__ (modules and what the
    # package imports for itself, such as typing.Any, aside)
    stray = {
        name
        for name, value in vars(structkit).items()
        if not name.startswith("_")
        and not inspect.ismodule(value)
        and str(getattr(value, "__module__", type(value).__module__)).startswith("structkit")
    } - PUBLIC
    assert not stray, stray


def test_all_is_explicit_and_importable():
    assert len(structkit.__all__) == len(set(structkit.__all__))
    for name in structkit.__all__:
        assert getattr(structkit, name) is not None, name


def test_every_public_error_is_exported_and_rooted():
    public = {n for n, o in vars(errors).items() if inspect.isclass(o) and issubclass(o, Exception)}
    assert public <= set(structkit.__all__)
    for name in public:
        assert issubclass(getattr(structkit, name), structkit.StructkitError)


def test_public_functions_take_options_by_keyword_only():
    for func in (structkit.diagnose, structkit.diagnose_many, structkit.run):
        params = list(inspect.signature(func).parameters.values())
        positional = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
        assert len(positional) <= 2, func.__name__
        assert func.__doc__


# The public packages: each one's __all__ is its API (engines and batch load lazily-imported
# extras only when an engine or a job is started, so importing them here is cheap).
PUBLIC_PACKAGES = (
    "structkit",
    "structkit.adapters",
    "structkit.batch",
    # clinical is a namespace: its modules are the API.
    "structkit.clinical.candidates",
    "structkit.clinical.condition_index",
    "structkit.clinical.findings",
    "structkit.clinical.icd10cm",
    "structkit.clinical.ranges",
    "structkit.clinical.scores",
    "structkit.clinical.snomed_map",
    "structkit.clinical.units",
    "structkit.engines",
    "structkit.evaluation",
    "structkit.review",
    "structkit.toolserver",
    "structkit.tasks",
    "structkit.testing",
    "structkit.testing.freeform_diagnosis",
    "structkit.tuning",
)


def _public(package: str) -> list[tuple[str, object]]:
    module = importlib.import_module(package)
    return [(name, getattr(module, name)) for name in module.__all__]


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_every_public_package_lists_importable_names_once(package: str) -> None:
    names = importlib.import_module(package).__all__
    assert len(names) == len(set(names)), package
    for name, value in _public(package):
        assert value is not None, f"{package}.{name}"


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_every_public_function_takes_its_options_by_keyword_only(package: str) -> None:
    # An option is a parameter with a default; the one exception is a function whose only
    # parameter it is (``token_counter(model=None)``: the subject, not an option).
    offenders = []
    for name, value in _public(package):
        if not inspect.isfunction(value):
            continue
        params = list(inspect.signature(value).parameters.values())
        for param in params:
            if (
                len(params) > 1
                and param.kind is param.POSITIONAL_OR_KEYWORD
                and param.default is not param.empty
            ):
                offenders.append(f"{package}.{name}({param.name})")
    assert offenders == []


def test_import_does_not_load_vllm():
    import subprocess
    import sys

    code = "import sys, structkit; print('vllm' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
