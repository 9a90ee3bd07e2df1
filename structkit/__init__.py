"""structkit: ask a local LLM questions about structured records and get validated answers.

    >>> import structkit
    >>> structkit.diagnose({"age": 67, "symptoms": ["chest pain"]})   # doctest: +SKIP
    Diagnosis(summary=..., differential=[...], ...)

Every answer is either a validated Pydantic instance or a typed :class:`OutputError` that
carries the raw output, the finish reason and the number of attempts. See ``_errors`` for the
exception tree.
"""

from . import adapters
from ._api import (
    analyze_financials,
    diagnose,
    diagnose_many,
    extract_clauses,
    run,
)
from ._errors import (
    AdapterError,
    ConfigurationError,
    DatasetError,
    DuplicateIdError,
    EngineRequestError,
    EngineUnavailableError,
    InputError,
    MissingExtraError,
    ModelError,
    ModelNotFoundError,
    ModelPreparationError,
    NotAStatementError,
    OutputError,
    OutputParseError,
    OutputValidationError,
    RecordParseError,
    RecordTooLargeError,
    RemoteTaskError,
    SchemaError,
    ServiceBusyError,
    StructkitError,
    TemplateError,
    ThinkingBudgetError,
    TruncatedOutputError,
    UnitError,
    UnsafeInputError,
)
from ._lazy import lazy_attributes as _lazy_attributes
from ._prepare import prepare_default_model
from ._profiles import DEFAULT_MODEL, ModelProfile, profile_for, register_profile
from ._prompt import fence, render_template
from ._runner import Outcome
from ._settings import RunOptions, Settings
from ._task import (
    Answers,
    Question,
    QuestionContext,
    Task,
    TaskCommand,
    get_task,
    register_task,
    task_names,
)
from ._tokens import token_counter
from ._version import __version__ as __version__
from .batch import BatchSummary, run_batch
from .engines import Completion, Engine, FakeEngine, GenerationRequest
from .tasks import with_adapter
from .tasks.clauses import CLAUSES, Clause, ClauseExtraction, clauses_task
from .tasks.diagnosis import DIAGNOSIS, Diagnosis, DifferentialItem, diagnosis_task
from .tasks.financials import FINANCIALS, Financials
from .tuning import tune

__all__ = [
    "CLAUSES",
    "DEFAULT_MODEL",
    "DIAGNOSIS",
    "FINANCIALS",
    "AdapterError",
    "Answers",
    "BatchSummary",
    "Clause",
    "ClauseExtraction",
    "Completion",
    "ConfigurationError",
    "DatasetError",
    "Diagnosis",
    "DifferentialItem",
    "DuplicateIdError",
    "Engine",
    "EngineRequestError",
    "EngineUnavailableError",
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
    "ServiceBusyError",
    "Settings",
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
]


# The embedded engine pulls in vLLM and torch, the server engine httpx: loaded on use.
__getattr__ = _lazy_attributes(
    __name__,
    {
        "LlamaCppEngine": ".engines",
        "VLLMEngine": ".engines",
        "ServerEngine": ".engines",
        "StreamEvent": ".engines",
        "stream_task": "._stream",
    },
)
