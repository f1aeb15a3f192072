#!/usr/bin/env python3
"""Render every kustomize overlay under k8s/ and validate each object against the Kubernetes
OpenAPI schemas, strictly (unknown fields are errors).

Versions checked: the EKS version the cluster runs (default of `cluster_version` in
infrastructure/variables.tf, so the two cannot drift apart) and the newest version the installed
kubernetes-validate knows, which catches APIs about to be removed.

The Python API of kubernetes-validate is used on purpose: its CLI only warns (exit 0) on an
apiVersion it has no schema for, such as a removed beta API; here that is an error.

Usage: validate_k8s.py [--repo DIR]    (exit 1 on any error)
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import yaml
from kubernetes_validate import utils as kv_utils

REPO = Path(__file__).resolve().parent.parent


def cluster_version(repo: Path = REPO) -> str:
    """The default of var.cluster_version in infrastructure/variables.tf, e.g. "1.35"."""
    text = (repo / "infrastructure" / "variables.tf").read_text()
    match = re.search(r'variable\s+"cluster_version"\s*\{[^}]*?default\s*=\s*"(\d+\.\d+)"', text, re.S)
    if not match:
        raise SystemExit("cannot find the default of variable cluster_version in infrastructure/variables.tf")
    return match.group(1)


def target_versions(repo: Path = REPO) -> list[str]:
    latest = ".".join(kv_utils.latest_version().split(".")[:2])
    versions = [cluster_version(repo), latest]
    return sorted(set(versions), key=lambda v: tuple(int(p) for p in v.split(".")))


def kustomize_command() -> list[str]:
    """`kubectl kustomize` (bundled kustomize) or a standalone `kustomize build`."""
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    raise SystemExit("neither kubectl nor kustomize is on PATH: cannot render k8s/ (install kubectl)")


def render(directory: Path) -> list[dict]:
    # Fixed command (kubectl/kustomize) on a directory of this repository.
    result = subprocess.run([*kustomize_command(), str(directory)], capture_output=True, text=True)  # noqa: S603
    if result.returncode != 0:
        raise SystemExit(f"kustomize failed for {directory}:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def kustomizations(repo: Path = REPO) -> list[Path]:
    """The base and every overlay (each directory under k8s/ holding a kustomization.yaml)."""
    return sorted(p.parent for p in (repo / "k8s").rglob("kustomization.yaml"))


def describe(doc: dict) -> str:
    meta = doc.get("metadata") or {}
    return f"{doc.get('apiVersion')}/{doc.get('kind')} {meta.get('namespace', '-')}/{meta.get('name')}"


def validate_documents(docs: list[dict], versions: list[str]) -> list[str]:
    """Error messages (empty when every document is valid for every version)."""
    errors: list[str] = []
    for doc in docs:
        for version in versions:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kv_utils.SchemaNotFoundError:
                reason = "no schema for this apiVersion/kind (removed or unknown API)"
                errors.append(f"{describe(doc)} [k8s {version}]: {reason}")
            except kv_utils.ValidationError as exc:
                # Carries the jsonschema error's attributes; its str() would dump the whole schema.
                path = "/".join(str(p) for p in exc.absolute_path)
                errors.append(f"{describe(doc)} [k8s {version}]: {path}: {exc.message}")
            except kv_utils.InvalidSchemaError as exc:
                errors.append(f"{describe(doc)} [k8s {version}]: invalid schema: {exc}")
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=REPO)
    args = parser.parse_args(argv)

    versions = target_versions(args.repo)
    failed = False
    for directory in kustomizations(args.repo):
        docs = render(directory)
        errors = validate_documents(docs, versions)
        rel = directory.relative_to(args.repo)
        if errors:
            failed = True
            print(f"FAIL {rel}: {len(errors)} error(s)")
            for error in errors:
                print(f"  {error}")
        else:
            print(f"ok   {rel}: {len(docs)} objects valid (strict) for Kubernetes {', '.join(versions)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
