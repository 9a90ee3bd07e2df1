import subprocess
import sys

from .conftest import ROOT


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "structkit.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def test_help_lists_commands():
    out = cli("--help")
    assert out.returncode == 0
    for command in ("diagnose", "run", "tasks", "prepare-model"):
        assert command in out.stdout


def test_tasks_lists_diagnosis():
    assert "diagnosis" in cli("tasks").stdout.split()


def test_missing_file_is_a_typed_error_and_exit_1():
    out = cli("diagnose", "no-such-file.json")
    assert out.returncode == 1
    assert "RecordParseError" in out.stderr and "no such file" in out.stderr
    assert out.stdout == ""


def test_malformed_record_error_does_not_print_its_content(tmp_path):
    bad = tmp_path / "secret.json"
    bad.write_text('{"name": "Jane SECRET Doe", ')
    out = cli("diagnose", str(bad))
    assert out.returncode == 1 and "SECRET" not in out.stderr and "secret.json" in out.stderr
