"""Every environment variable structkit reads is read through one table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from structkit._config import ENVIRONMENT, default_model, env, gpus_hidden

PACKAGE = Path(__file__).resolve().parent.parent / "structkit"


def test_no_module_reads_an_environment_variable_directly() -> None:
    # Setting a default for a library structkit starts (os.environ.setdefault) is not a read.
    read = re.compile(r"""os\.(environ\.get|getenv)\s*\(|os\.environ\s*\[|\bgetenv\s*\(""")
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "_config.py" and read.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_every_variable_named_in_the_code_is_in_the_table() -> None:
    named = {
        name
        for path in PACKAGE.rglob("*.py")
        for name in re.findall(r"""env\(\s*["']([A-Z_]+)["']""", path.read_text(encoding="utf-8"))
    }
    assert named and named <= set(ENVIRONMENT)


def test_blank_is_unset_and_unknown_names_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRUCTKIT_MODEL", "  ")
    assert env("STRUCTKIT_MODEL") is None
    assert default_model() != ""
    monkeypatch.setenv("STRUCTKIT_MODEL", " my-model ")
    assert default_model() == "my-model"
    with pytest.raises(KeyError):
        env("STRUCTKIT_NO_SUCH_THING")


@pytest.mark.parametrize(
    ("value", "hidden"), [("", True), ("-1", True), ("0", False), ("0,1", False), (None, False)]
)
def test_a_blank_cuda_visible_devices_hides_the_gpus(
    monkeypatch: pytest.MonkeyPatch, value: str | None, hidden: bool
) -> None:
    if value is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", value)
    assert gpus_hidden() is hidden
