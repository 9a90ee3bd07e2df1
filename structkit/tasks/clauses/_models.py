"""The clauses task's output models and CUAD categories: what an answer is."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

__all__ = [
    "CLAUSE_TYPES",
    "DATE_TYPES",
    "MAX_CLAUSES",
    "MAX_SPAN",
    "NAME_TYPES",
    "SINGLE_VALUED_TYPES",
    "Clause",
    "ClauseExtraction",
    "ClauseType",
    "Grounding",
    "Origin",
]

#: Longest span the model may copy (characters).
MAX_SPAN = 600
#: Most clauses in one answer (one request: a whole contract or one part of a split one).
MAX_CLAUSES = 12

#: Supported CUAD categories, spelled as in CUAD's ``master_clauses.csv`` header.
ClauseType = Literal[
    "Document Name",
    "Parties",
    "Agreement Date",
    "Effective Date",
    "Expiration Date",
    "Renewal Term",
    "Notice Period To Terminate Renewal",
    "Governing Law",
    "Termination For Convenience",
    "Non-Compete",
    "Exclusivity",
    "Change Of Control",
    "Anti-Assignment",
    "License Grant",
    "Ip Ownership Assignment",
    "Audit Rights",
    "Cap On Liability",
    "Uncapped Liability",
    "Warranty Duration",
    "Insurance",
]
CLAUSE_TYPES: tuple[str, ...] = get_args(ClauseType)
#: Types whose ``normalized`` value is an ISO date.
DATE_TYPES = frozenset({"Agreement Date", "Effective Date", "Expiration Date"})
#: Types a contract has one value of: parts of a split contract agreeing on it are merged.
SINGLE_VALUED_TYPES = frozenset({"Document Name", "Governing Law", *DATE_TYPES})
#: Types whose ``normalized`` value (a name) must occur in the contract text.
NAME_TYPES = frozenset({"Parties", "Governing Law"})

Grounding = Literal["exact", "whitespace-normalized", "not found", ""]
#: Who chose a clause: ``code`` (structure, ranking above a threshold), ``model`` (decoded or
#: picked by the model), ``adapter`` (kept by a trained head). The review page badges it.
Origin = Literal["code", "model", "adapter"]


class Clause(BaseModel):
    """One clause: its CUAD type, the verbatim text, a normalized value, and where it is."""

    model_config = ConfigDict(extra="forbid")

    clause_type: ClauseType = Field(description="CUAD category of the clause.")
    text: Annotated[str, StringConstraints(min_length=1, max_length=MAX_SPAN)] = Field(
        description="The clause text, copied exactly from the contract."
    )
    normalized: Annotated[str, StringConstraints(max_length=120)] = Field(
        description=(
            "Date types: the date as YYYY-MM-DD; Parties: the party's name; Governing Law: the "
            "jurisdiction; otherwise an empty string."
        )
    )
    # Filled in code after decoding; not in the JSON Schema, so never written by the model.
    start: SkipJsonSchema[int] = -1
    """Offset of the span in the source text (Python ``str`` index), -1 when not found."""
    end: SkipJsonSchema[int] = -1
    verified: SkipJsonSchema[bool] = False
    """``source_text[start:end]`` is the span (exactly or up to whitespace)."""
    grounding: SkipJsonSchema[Grounding] = ""
    """How the span was found: ``exact``, ``whitespace-normalized`` or ``not found``."""
    issues: SkipJsonSchema[list[str]] = Field(default_factory=list)
    """Problems found in code: an invalid date, a name that is not in the text."""
    origin: SkipJsonSchema[Origin] = "model"
    """Who chose the clause; what the model writes (one-shot) is ``model``."""


class ClauseExtraction(BaseModel):
    """The clauses found in a contract."""

    model_config = ConfigDict(extra="forbid")

    # maxItems bounds each answer in the schema; a merged result of several parts may hold more.
    clauses: list[Clause] = Field(
        json_schema_extra={"maxItems": MAX_CLAUSES},
        description="Clauses found in the contract, in document order.",
    )
