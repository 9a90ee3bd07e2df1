from typing import Annotated

import pytest
from pydantic import BaseModel, Field, StringConstraints

from structkit import Diagnosis, SchemaError
from structkit._schema import output_schema, unbounded_paths


def test_diagnosis_schema_is_bounded_everywhere():
    schema = output_schema(Diagnosis)
    assert unbounded_paths(schema) == []
    assert schema["properties"]["differential"]["maxItems"] == 5
    assert schema["additionalProperties"] is False


def test_unbounded_list_and_string_are_refused_with_paths():
    class Loose(BaseModel):
        tags: list[str]
        note: str

    with pytest.raises(SchemaError) as info:
        output_schema(Loose)
    message = str(info.value)
    assert "tags: array without maxItems" in message
    assert "note: string without maxLength" in message


def test_bounded_model_passes():
    class Tight(BaseModel):
        tags: list[Annotated[str, StringConstraints(max_length=10)]] = Field(max_length=3)

    assert output_schema(Tight)["properties"]["tags"]["maxItems"] == 3


def test_property_named_type_is_not_mistaken_for_a_schema_keyword():
    class WithType(BaseModel):
        type: Annotated[str, StringConstraints(max_length=5)]

    assert unbounded_paths(output_schema(WithType)) == []
