"""ServerEngine against a real vLLM server started with ``--reasoning-parser deepseek_r1``.

A second server (a think-shaped variant of the default model, see ``tests/reasoning_model.py``),
so it costs another server start (1-3 minutes on 2 cores): kept out of the default suite's time
budget with the ``reasoning_server`` marker. Run it with::

    .venv/bin/python -m pytest -m reasoning_server

The default suite covers the reasoning wire format (``message.reasoning``, streamed thinking,
a refused ``thinking_token_budget``) against the scripted server in ``test_server_engine.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from structkit import OutputError, stream_task
from structkit.engines import ServerEngine
from structkit.testing import VLLMServer
from structkit.testing import freeform_diagnosis as legacy

from .conftest import EXAMPLES

pytestmark = [pytest.mark.engine, pytest.mark.server, pytest.mark.reasoning_server]


def test_reasoning_server_streams_thinking_then_answer(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A think-shaped model served with ``--reasoning-parser deepseek_r1`` (own server)."""
    from .reasoning_model import PROFILE, make_think_model

    log = tmp_path_factory.mktemp("vllm-think") / "server.log"
    think = VLLMServer(
        make_think_model(), name="think-test", log=log, extra=("--reasoning-parser", "deepseek_r1")
    )
    try:
        think.start()
        with ServerEngine(think.url, profile=PROFILE) as client:
            assert client.health_check().thinking_budget is True
            record = EXAMPLES / "patient_record.json"
            events: list[Any] = []
            try:
                for event in stream_task(
                    "diagnosis_freeform", record, engine=client, thinking_budget=40, max_tokens=700
                ):
                    events.append(event)
            except OutputError as exc:
                assert exc.reasoning, "the thinking must come back even when the answer fails"
            kinds = [e.kind for e in events]
            assert kinds and kinds[0] == "reasoning"
            if "answer" in kinds:  # thinking strictly before the answer
                assert "reasoning" not in kinds[kinds.index("answer") :]
            outcomes = legacy.diagnose_many(
                [record] * 2, engine=client, thinking_budget=40, max_tokens=700
            )
            assert any(o.ok for o in outcomes), [str(o.error) for o in outcomes]
            for outcome in outcomes:
                if outcome.ok:
                    assert outcome.reasoning  # reassembled from message.reasoning
    finally:
        think.stop()
