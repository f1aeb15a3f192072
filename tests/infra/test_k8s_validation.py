"""The manifest checker accepts the real manifests and rejects broken ones (it can fail)."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import validate_k8s

REPO = Path(__file__).resolve().parents[2]


def test_every_rendered_manifest_is_valid(overlays):
    versions = validate_k8s.target_versions(REPO)
    for name, docs in overlays.items():
        assert docs, f"{name} rendered nothing"
        assert validate_k8s.validate_documents(docs, versions) == [], name


def test_validation_targets_the_cluster_version():
    versions = validate_k8s.target_versions(REPO)
    assert validate_k8s.cluster_version(REPO) in versions
    assert len(versions) >= 1


def _first(docs, kind):
    return copy.deepcopy(next(d for d in docs if d["kind"] == kind))


def test_unknown_field_fails(deployed):
    docs = next(iter(deployed.values()))
    deployment = _first(docs, "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGett"] = {
        "path": "/healthz"
    }
    errors = validate_k8s.validate_documents([deployment], ["1.35"])
    assert len(errors) == 1 and "httpGett" in errors[0]


def test_misplaced_field_fails(deployed):
    docs = next(iter(deployed.values()))
    deployment = _first(docs, "Deployment")
    deployment["spec"]["template"]["spec"]["readOnlyRootFilesystem"] = True  # belongs to a container
    assert validate_k8s.validate_documents([deployment], ["1.35"])


def test_wrong_type_fails(deployed):
    docs = next(iter(deployed.values()))
    deployment = _first(docs, "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "8000"
    assert validate_k8s.validate_documents([deployment], ["1.35"])


@pytest.mark.parametrize(
    ("kind", "removed_api_version"),
    [
        ("Ingress", "extensions/v1beta1"),
        ("Ingress", "networking.k8s.io/v1beta1"),
        ("PodDisruptionBudget", "policy/v1beta1"),
        ("HorizontalPodAutoscaler", "autoscaling/v2beta2"),
    ],
)
def test_removed_api_fails(deployed, kind, removed_api_version):
    docs = next(iter(deployed.values()))
    obj = _first(docs, kind)
    obj["apiVersion"] = removed_api_version
    errors = validate_k8s.validate_documents([obj], ["1.35"])
    assert errors and "no schema" in errors[0]


def test_checker_exits_non_zero_on_a_broken_tree(tmp_path):
    """End to end: the script itself (render + validate) fails on a broken copy of k8s/."""
    shutil.copytree(REPO / "k8s", tmp_path / "k8s")
    (tmp_path / "infrastructure").mkdir()
    shutil.copy(REPO / "infrastructure" / "variables.tf", tmp_path / "infrastructure")
    assert validate_k8s.main(["--repo", str(tmp_path)]) == 0

    pdb = tmp_path / "k8s" / "base" / "pdb.yaml"
    pdb.write_text(pdb.read_text().replace("apiVersion: policy/v1", "apiVersion: policy/v1beta1"))
    assert validate_k8s.main(["--repo", str(tmp_path)]) == 1
