"""A reasoning-shaped variant of the packaged default model, for testing the `<think>` path.

The reference reasoning model (DeepSeek-R1-Distill-Qwen-1.5B) cannot be downloaded on our
machines. To exercise vLLM's real reasoning machinery anyway (the ``deepseek_r1`` reasoning
parser, constraints that start only after ``</think>``, ``thinking_token_budget`` forcing the
end of thinking), this derives a model folder from SmolLM2-135M-Instruct whose tokenizer has
``<think>``/``</think>`` (two unused special tokens renamed) and whose chat template opens
``<think>`` at the start of the answer, exactly as R1's template does. The weights are the same:
the model does not *reason* well, but every code path around reasoning runs for real.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from structkit import ModelProfile, prepare_default_model

PRIMER = "Let me think about this patient step by step. First,"
RENAMES = {"<jupyter_start>": "<think>", "<jupyter_text>": "</think>"}

PROFILE = ModelProfile(
    pattern=r"think-test",
    temperature=0.6,
    top_p=0.95,
    reasoning=True,
    reasoning_parser="deepseek_r1",
    max_model_len=4096,
    max_tokens=600,
)


def _rename(text: str) -> str:
    for old, new in RENAMES.items():
        text = text.replace(json.dumps(old), json.dumps(new))
    data = json.loads(text)
    _unspecial(data)
    return json.dumps(data, ensure_ascii=False)


def _unspecial(node: object) -> None:
    """Mark the think tokens non-special, as in R1's tokenizer, so they stay in decoded text."""
    if isinstance(node, dict):
        if node.get("content") in RENAMES.values() and "special" in node:
            node["special"] = False
        for child in node.values():
            _unspecial(child)
    elif isinstance(node, list):
        for child in node:
            _unspecial(child)


def make_think_model(target: Path | None = None) -> Path:
    """Build (once) the think-test model folder and return it.

    It lives beside the prepared default model unless ``target`` is given; the folder name
    carries a hash of this recipe, so a changed recipe never reuses a stale folder (and an
    unchanged one reuses vLLM's compile cache across sessions).
    """
    source = prepare_default_model()
    recipe = hashlib.sha256(repr((PRIMER, sorted(RENAMES.items()))).encode()).hexdigest()[:10]
    folder = (target or source.parent) / f"smollm2-think-test-{recipe}"
    if (folder / "config.json").is_file():
        return folder
    folder.mkdir(parents=True)
    for path in source.iterdir():
        if path.name in ("tokenizer.json", "tokenizer_config.json"):
            (folder / path.name).write_text(_rename(path.read_text()))
        elif path.name == "chat_template.jinja":
            template = path.read_text()
            # The generation prompt is written with a literal newline in SmolLM2's template.
            # SmolLM2 never learned <think>: on its own it ends the turn at once. A primer
            # sentence makes it keep writing, so the thinking phase has content to budget.
            opened = template.replace(
                "'<|im_start|>assistant\n'", "'<|im_start|>assistant\n<think>\n" + PRIMER + "'"
            )
            assert opened != template, "SmolLM2 chat template changed; update the test model"
            (folder / path.name).write_text(opened)
        elif path.suffix in (".json", ".safetensors"):
            os.link(path, folder / path.name)
    return folder
