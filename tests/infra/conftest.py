"""Shared fixtures of the deployment checks (run by scripts/check-infra.sh, not by `make test`)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# scripts/validate_k8s.py is imported by the tests as `validate_k8s`.
if str(REPO / "scripts") not in sys.path:
    sys.path.insert(0, str(REPO / "scripts"))

import validate_k8s  # noqa: E402


def _require_tool(available: bool, reason: str) -> None:
    """Skip when a tool is missing, except in CI (CI or REQUIRE_SERVICES set), where it fails."""
    if available:
        return
    if os.environ.get("CI") or os.environ.get("REQUIRE_SERVICES"):
        pytest.fail(f"{reason} (CI/REQUIRE_SERVICES is set: not skipping)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def require_tool():
    return _require_tool


@pytest.fixture(scope="session")
def overlays() -> dict[str, list[dict]]:
    """Rendered objects of the base and of every overlay, keyed by directory (k8s/overlays/mvp)."""
    _require_tool(
        bool(shutil.which("kubectl") or shutil.which("kustomize")), "kubectl/kustomize not installed"
    )
    return {str(d.relative_to(REPO)): validate_k8s.render(d) for d in validate_k8s.kustomizations(REPO)}


@pytest.fixture(scope="session")
def deployed(overlays) -> dict[str, list[dict]]:
    """Only the overlays (what is actually applied to a cluster)."""
    return {name: docs for name, docs in overlays.items() if "/overlays/" in name}
