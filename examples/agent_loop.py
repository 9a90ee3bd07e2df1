"""An agent loop: a chat model calls structkit's tasks as functions (OpenAI tool calling).

Two servers, both on this machine:

    # the model, with tool calling on (any OpenAI-compatible server; here vLLM)
    python -m vllm.entrypoints.openai.api_server --model "$(structkit prepare-model)" \\
        --served-model-name smollm2 --port 8000 --enable-auto-tool-choice --tool-call-parser hermes
    # structkit's tools over one warm engine, reading records under examples/
    structkit serve --root examples --port 8765

    python examples/agent_loop.py "Give a differential for this patient" \\
        --llm http://127.0.0.1:8000 --tools http://127.0.0.1:8765 --tool diagnose

The model sees every structkit task as a function whose one argument is the record to run on,
chosen from the files it is offered (an ``enum``: it cannot name another file, and structkit's
``--root`` refuses one anyway). The packaged default model's chat template has no tool format,
so it cannot decide to call a tool by itself: name the tool (``--tool``, a named ``tool_choice``)
and, as every function here is ``strict``, the server decodes the call under the function's
schema, so the call is well-formed. Arguments are still checked against that schema before a
call runs: a call that does not fit is reported (status ``"invalid_arguments"``), never run. A model
with a tool format (Qwen, Hermes, Llama 3.1+) can be left to choose (``tool_choice="auto"``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import httpx
import jsonschema

from structkit.engines import GenerationRequest, ServerEngine


def tool_definitions(tasks: list[dict[str, Any]], files: list[str]) -> list[dict[str, Any]]:
    """One OpenAI function per task that ``structkit serve`` lists at ``/v1/tasks``."""
    return [
        {
            "type": "function",
            "function": {
                "name": task["tool"],
                "description": task["description"],
                # strict: the server pins the arguments to this schema (vLLM's hermes parser
                # constrains only the call's envelope without it; measured on vLLM 0.32, the
                # default model then wrote `"arguments": "a.json"`).
                "strict": True,
                "parameters": {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string", "enum": files, "description": "the record"}
                    },
                    "required": ["path"],
                    "additionalProperties": False,
                },
            },
        }
        for task in tasks
    ]


def run_agent(
    question: str,
    *,
    llm: ServerEngine,
    tools_url: str,
    files: list[str],
    tool: str | None = None,
) -> list[dict[str, Any]]:
    """One round: the model calls tools, structkit answers each call.

    Returns one entry per call: ``{"tool", "arguments", "status", "answer"}`` where ``answer`` is
    the task's validated output (status 200) or structkit's typed error (422).
    """
    tasks = httpx.get(f"{tools_url}/v1/tasks", timeout=30).raise_for_status().json()
    definitions = tool_definitions(tasks, files)
    by_tool = {d["function"]["name"]: d for d in definitions}
    task_of = {t["tool"]: t["name"] for t in tasks}
    choice: str | dict[str, Any] = (
        {"type": "function", "function": {"name": tool}} if tool is not None else "auto"
    )
    request = GenerationRequest(
        messages=[{"role": "user", "content": f"{question}\nRecords: {', '.join(files)}"}],
        json_schema=None,
        max_tokens=256,  # the call is ~30 tokens; room so it is never cut
        temperature=0.0,
        tools=[by_tool[tool]] if tool is not None else definitions,
        tool_choice=choice,
    )
    (completion,) = llm.generate([request])
    if completion.error:
        raise RuntimeError(f"the model server failed: {completion.error}")
    results = []
    with httpx.Client(base_url=tools_url, timeout=600) as client:
        for call in completion.tool_calls:
            try:
                arguments = json.loads(call.arguments)
                jsonschema.validate(arguments, by_tool[call.name]["function"]["parameters"])
            except (KeyError, ValueError, jsonschema.ValidationError) as error:
                results.append(
                    {
                        "tool": call.name,
                        "arguments": call.arguments,
                        "status": "invalid_arguments",
                        "answer": {"type": type(error).__name__},
                    }
                )
                continue
            response = client.post(f"/v1/tasks/{task_of[call.name]}", json=arguments)
            body = response.json()
            results.append(
                {
                    "tool": call.name,
                    "arguments": arguments,
                    "status": response.status_code,
                    "answer": body.get("result", body.get("error")),
                }
            )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("question")
    parser.add_argument("--llm", required=True, help="the OpenAI-compatible model server")
    parser.add_argument("--tools", required=True, help="the `structkit serve` URL")
    parser.add_argument("--root", default=str(Path(__file__).parent), help="its --root")
    parser.add_argument("--tool", default=None, help="name the tool (default: the model picks)")
    args = parser.parse_args()
    files = sorted(
        p.name for p in Path(args.root).iterdir() if p.suffix in {".json", ".csv", ".txt", ".xml"}
    )
    with ServerEngine(args.llm) as llm:
        results = run_agent(
            args.question, llm=llm, tools_url=args.tools, files=files, tool=args.tool
        )
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
