"""The installed tool never depends on the checkout: build the wheel, install it into a fresh
virtual environment, and check a rule file from a directory outside the repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_wheel_ships_grammar_and_checks_outside_the_checkout(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        check=True,
    )
    (wheel,) = dist.glob("policylang-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "policylang/grammar/policy.lark" in names
    assert "policylang/py.typed" in names
    assert "policylang/data/nza/zorgproducten_2025.csv" in names
    assert "policylang/impact/templates/diff.html.j2" in names  # the report needs its templates
    assert "policylang-0.1.0.dist-info/licenses/LICENSE" in names
    metadata = zipfile.ZipFile(wheel).read("policylang-0.1.0.dist-info/METADATA").decode()
    assert "License-Expression: EUPL-1.2" in metadata.splitlines()
    assert "Classifier: Intended Audience :: Healthcare Industry" in metadata.splitlines()

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # the installed wheel alone: a PYTHONPATH pointing at the checkout would hide a missing file
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True, env=clean)

    work = tmp_path / "elsewhere"
    shutil.copytree(ROOT / "tests/golden/decisions", work)
    result = subprocess.run(
        [
            str(env_dir / "bin" / "policylang"),
            "check",
            "core.policy",
            "--claims",
            "core.csv",
            "--format",
            "json",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        env=clean,
    )
    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert summary == {
        "claims": 24,
        "by_status": {"accepted": 6, "adjusted": 5, "rejected": 7, "error": 6},
        "claimed": "12477.50",
        "payable": "8952.50",
    }
    # The grammar really came from the installed package, not from this checkout.
    located = subprocess.run(
        [
            str(python),
            "-c",
            "import policylang.syntax.parser as p, importlib.resources as r;"
            "print(r.files('policylang').joinpath('grammar/policy.lark').is_file(), p.__file__)",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
        env=clean,
    ).stdout.split()
    assert located[0] == "True"
    assert not located[1].startswith(str(ROOT / "policylang"))
