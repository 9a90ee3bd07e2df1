"""The tool servers on the real default engine, called by the MCP SDK's real client.

``structkit mcp`` runs as a subprocess over stdio (the way Claude Desktop starts it; it starts its
own engine: llama.cpp loads in seconds). The Streamable HTTP transport and ``structkit serve``
run in this process on a loopback port, over the session's engine (started once). Each built-in
tool is called in its default mode, so the model is in the loop; the tests assert what the code
guarantees (structured content that validates against the advertised output schema, or a tool
error naming a typed failure), never what the model answers.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest

import structkit
from structkit.toolserver import (
    Exposure,
    ToolService,
    create_app,
    create_mcp_server,
    mcp_http_app,
)

from .conftest import EXAMPLES
from .loopback import Loopback

pytestmark = pytest.mark.engine

TOOLS = {
    "diagnose": ("patient_record.json", structkit.Diagnosis),
    "analyze_financials": ("income_statement.csv", structkit.Financials),
    "extract_clauses": ("contract.txt", structkit.ClauseExtraction),
}
ENTITY = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'
KEY = "e2e-key-0123456789abcdef"


def _hostile() -> list[dict[str, Any]]:
    from structkit.adapters._source import MAX_BYTES

    return [
        {"content": ENTITY},
        {"path": "../README.md"},
        {"path": "/etc/passwd"},
        {"content": "{" + " " * MAX_BYTES + "}"},  # over the adapters' size limit
    ]


async def _exercise(session: Any) -> None:
    """Every built-in tool once on real records, then hostile ones, then a tool again."""
    await session.initialize()
    listed = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(TOOLS) <= set(listed)
    for name, (file, model) in TOOLS.items():
        tool = listed[name]
        assert tool.output_schema is not None and "content" in tool.input_schema["properties"]
        content = (EXAMPLES / file).read_text(encoding="utf-8")
        result = await session.call_tool(name, {"content": content, "record_id": file})
        if result.is_error:  # a typed failure of the model's answer, never a traceback
            text = result.content[0].text
            assert "Error" in text and "Traceback" not in text, text
            continue
        jsonschema.Draft202012Validator(tool.output_schema).validate(result.structured_content)
        assert result.structured_content["record_id"] == file
        model.model_validate(result.structured_content["result"])
        assert result.structured_content["audit"]["model"]["weights_sha256"]
    for arguments in _hostile():
        result = await session.call_tool("diagnose", arguments)
        assert result.is_error, arguments.keys()
        text = result.content[0].text
        assert "UnsafeInputError" in text or "InvalidRequest" in text, text
        assert "Traceback" not in text and "boom" not in text
    after = await session.call_tool("extract_clauses", {"path": "contract.txt", "mode": "baseline"})
    assert not after.is_error  # the server kept serving
    structkit.ClauseExtraction.model_validate(after.structured_content["result"])


def test_mcp_over_stdio_with_the_sdk_client() -> None:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "structkit.cli", "mcp", "--root", str(EXAMPLES)],
        env={**os.environ, "STRUCTKIT_ENGINE": os.environ.get("STRUCTKIT_ENGINE", "llama.cpp")},
    )

    async def run() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await _exercise(session)

    asyncio.run(run())


@pytest.fixture(scope="module")
def service(real_engine: Any) -> Iterator[ToolService]:
    tool_service = ToolService(engine=real_engine, root=str(EXAMPLES)).start()
    yield tool_service
    tool_service.close()


def test_mcp_over_streamable_http_with_the_sdk_client(service: ToolService) -> None:
    from mcp import ClientSession
    from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

    exposure = Exposure.checked(host="127.0.0.1", port=0, api_key=KEY)
    with Loopback(mcp_http_app(create_mcp_server(service), exposure)) as server:
        assert httpx.post(f"{server.url}/mcp", json={}).status_code == 401  # no key

        async def run() -> None:
            client = create_mcp_http_client(headers={"Authorization": f"Bearer {KEY}"})
            async with (
                client,
                streamable_http_client(f"{server.url}/mcp", http_client=client) as streams,
                ClientSession(streams[0], streams[1]) as session,
            ):
                await _exercise(session)

        asyncio.run(run())


def test_serve_answers_each_task_and_the_cli_goes_through_it(
    service: ToolService, capsys: pytest.CaptureFixture[str]
) -> None:
    from structkit.cli import main

    exposure = Exposure.checked(host="127.0.0.1", port=0)
    app = create_app(service, exposure, close_service=False)
    with Loopback(app) as server, httpx.Client(base_url=server.url, timeout=600) as http:
        document = http.get("/openapi.json").json()
        for name, (file, model) in TOOLS.items():
            task = {"diagnose": "diagnosis", "analyze_financials": "financials"}.get(
                name, "clauses"
            )
            body = {"content": (EXAMPLES / file).read_text(encoding="utf-8"), "id": file}
            response = http.post(f"/v1/tasks/{task}", json=body)
            assert response.status_code in (200, 422), response.text
            if response.status_code == 422:  # the model's answer failed: a typed error
                assert response.json()["error"]["type"].endswith("Error")
                continue
            ok = document["paths"][f"/v1/tasks/{task}"]["post"]["responses"]["200"]
            root = {**ok["content"]["application/json"]["schema"], **document}
            jsonschema.Draft202012Validator(root).validate(response.json())
            model.model_validate(response.json()["result"])
        batch = {
            "task": "diagnosis",
            "records": [{"path": "patient_record.json"}, {"content": ENTITY, "id": "x"}],
        }
        lines = http.post("/v1/batch", json=batch).json()["results"]
        assert [line["id"] for line in lines] == ["patient_record.json", "x"]
        assert lines[1]["error"]["type"] == "UnsafeInputError"
        code = main(["diagnose", str(EXAMPLES / "patient_record.json"), "--via", server.url])
        captured = capsys.readouterr()
        assert code in (0, 1), captured.err
        if code == 0:
            structkit.Diagnosis.model_validate(json.loads(captured.out))
        else:
            assert "Error" in captured.err
