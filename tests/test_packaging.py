"""Templates must ship inside the wheel, not only work from a checkout."""

import subprocess
import sys
import zipfile

from .conftest import ROOT


def test_wheel_contains_templates_and_finds_them_when_installed(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("structkit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "structkit/templates/diagnosis.jinja" in names
    assert "structkit/py.typed" in names
    assert {"structkit/review/app.js", "structkit/review/page.html"} <= set(names)  # review app
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    code = "import structkit._prompt as p; print(p.builtin_template_dir())"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(target)},
        cwd=tmp_path,
        check=True,
    )
    assert out.stdout.strip() == str(target / "structkit" / "templates")
