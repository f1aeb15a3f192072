"""Every process that talks to Redis acknowledges a beacon only once a replica holds it.

ElastiCache offers no append-only file, so the only way Redis keeps what the app acknowledged through a
failover is a replica that has each beacon before its 2xx: REDIS_WAIT_REPLICAS >= 1 (Redis WAIT) in every
workload with REDIS_URL, and at least that many replicas in the Terraform stack (redis_num_cache_clusters,
whose noeviction parameter group, replica and alarms infrastructure/tests/redis_durability.tftest.hcl
checks). Checked on the rendered kustomizations (base and every overlay), with Kubernetes' own precedence:
`env` over `envFrom`, a later `envFrom` source over an earlier one.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import validate_k8s

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infrastructure"

# Where each workload kind keeps its pod template.
POD_SPEC_PATHS = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}
EXPECTED_REDIS_WORKLOADS = {
    "Deployment/adserver-serving",
    "Deployment/adserver-admin",
    "Deployment/adserver-flusher",
    "Deployment/adserver-transcoder",
    "Job/adserver-migrate",
}


class Unknown:
    """A value the rendered manifests cannot tell (a Secret's key, a missing ConfigMap)."""

    def __init__(self, source: str):
        self.source = source

    def __repr__(self) -> str:
        return f"<unknown: {self.source}>"


def _pod_spec(doc: dict) -> dict | None:
    path = POD_SPEC_PATHS.get(doc.get("kind"))
    if path is None:
        return None
    node = doc
    for key in path:
        node = (node or {}).get(key)
    return node


def _config_maps(docs: list[dict]) -> dict[str, dict]:
    return {d["metadata"]["name"]: d.get("data") or {} for d in docs if d.get("kind") == "ConfigMap"}


def effective_env(container: dict, config_maps: dict[str, dict]) -> dict[str, str | Unknown]:
    """The environment the container starts with, as far as the manifests tell."""
    env: dict[str, str | Unknown] = {}
    for source in container.get("envFrom", []):
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            name = source["configMapRef"]["name"]
            if name not in config_maps:
                env[f"{prefix}*"] = Unknown(f"ConfigMap {name} (not rendered)")
            for key, value in config_maps.get(name, {}).items():
                env[prefix + key] = str(value)
        else:  # secretRef: its keys are not in the repository; it could hold (or override) anything
            env[f"{prefix}*"] = Unknown(f"envFrom {source}")
    for var in container.get("env", []):
        if "value" in var or "valueFrom" not in var:
            env[var["name"]] = str(var.get("value", ""))
            continue
        ref = var["valueFrom"].get("configMapKeyRef")
        if ref and ref["name"] in config_maps and ref["key"] in config_maps[ref["name"]]:
            env[var["name"]] = str(config_maps[ref["name"]][ref["key"]])
        else:
            env[var["name"]] = Unknown(f"valueFrom {var['valueFrom']}")
    return env


def redis_workloads(docs: list[dict]):
    """(workload, container name, effective env) of every container that may be given REDIS_URL."""
    config_maps = _config_maps(docs)
    for doc in docs:
        spec = _pod_spec(doc)
        if spec is None:
            continue
        workload = f"{doc['kind']}/{doc['metadata']['name']}"
        for container in spec.get("initContainers", []) + spec.get("containers", []):
            env = effective_env(container, config_maps)
            wildcard = any(isinstance(v, Unknown) for k, v in env.items() if k.endswith("*"))
            if "REDIS_URL" in env or wildcard:
                yield workload, container["name"], env


def wait_violations(docs: list[dict], *, at_most: int | None = None) -> list[str]:
    """Why a container with REDIS_URL could acknowledge a beacon that no replica holds (empty: none)."""
    problems = []
    for workload, container, env in redis_workloads(docs):
        where = f"{workload} container {container}"
        unknown = [v for k, v in env.items() if k.endswith("*") and isinstance(v, Unknown)]
        if unknown:
            problems.append(f"{where}: environment from {unknown[0].source} cannot be checked")
            continue
        value = env.get("REDIS_WAIT_REPLICAS")
        if value is None:
            problems.append(f"{where}: REDIS_URL without REDIS_WAIT_REPLICAS")
        elif isinstance(value, Unknown) or not re.fullmatch(r"\d+", value.strip()):
            problems.append(f"{where}: REDIS_WAIT_REPLICAS={value!r} is not a literal number")
        elif int(value) < 1:
            problems.append(
                f"{where}: REDIS_WAIT_REPLICAS={value} (a failover would lose acknowledged beacons)"
            )
        elif at_most is not None and int(value) > at_most:
            problems.append(
                f"{where}: REDIS_WAIT_REPLICAS={value} but the stack has {at_most} replica(s): "
                "every beacon would wait for replicas that do not exist"
            )
    return problems


def terraform_replicas() -> dict[str, int]:
    """Replicas (num_cache_clusters - 1) of the Terraform default and of every workspace's tfvars."""
    text = (INFRA / "variables.tf").read_text()
    match = re.search(r'variable\s+"redis_num_cache_clusters"\s*\{.*?default\s*=\s*(\d+)', text, re.S)
    assert match, "no default for redis_num_cache_clusters in infrastructure/variables.tf"
    replicas = {"variables.tf": int(match.group(1)) - 1}
    for tfvars in sorted(INFRA.glob("*.tfvars")):
        override = re.search(r"^\s*redis_num_cache_clusters\s*=\s*(\d+)", tfvars.read_text(), re.M)
        replicas[tfvars.name] = (int(override.group(1)) if override else int(match.group(1))) - 1
    return replicas


# --- the repository's manifests ------------------------------------------------------------------------


def test_every_workload_with_redis_waits_for_a_replica(overlays):
    at_most = min(terraform_replicas().values())
    for name, docs in overlays.items():
        problems = wait_violations(docs, at_most=at_most)
        assert not problems, f"{name}:\n" + "\n".join(problems)
        found = {workload for workload, _container, _env in redis_workloads(docs)}
        assert found >= EXPECTED_REDIS_WORKLOADS, (
            f"{name}: REDIS_URL not seen in {EXPECTED_REDIS_WORKLOADS - found}"
        )


def test_terraform_provides_the_replicas_the_manifests_wait_for():
    for source, replicas in terraform_replicas().items():
        assert replicas >= 1, f"{source}: redis_num_cache_clusters leaves no replica for REDIS_WAIT_REPLICAS"


# --- the check can fail ------------------------------------------------------------------------------


def _deployment(name: str, *, env=(), env_from=(), init=False, kind="Deployment") -> dict:
    container = {"name": "app", "image": "adserver:1", "env": list(env), "envFrom": list(env_from)}
    pod = {"containers": [{"name": "sidecar", "image": "busybox"}], "initContainers": []}
    pod["initContainers" if init else "containers"].append(container)
    template = {"spec": pod}
    if kind == "CronJob":
        spec = {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}
    else:
        spec = {"template": template}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


REDIS_URL = {
    "name": "REDIS_URL",
    "valueFrom": {"secretKeyRef": {"name": "adserver-secrets", "key": "REDIS_URL"}},
}
SHARED = {"kind": "ConfigMap", "metadata": {"name": "shared"}, "data": {"REDIS_WAIT_REPLICAS": "1"}}
FROM_SHARED = {"configMapRef": {"name": "shared"}}


@pytest.mark.parametrize(
    ("docs", "expected"),
    [
        ([_deployment("ok", env=[REDIS_URL], env_from=[FROM_SHARED]), SHARED], None),
        ([_deployment("no-redis")], None),
        ([_deployment("missing", env=[REDIS_URL])], "without REDIS_WAIT_REPLICAS"),
        (
            [
                _deployment(
                    "zero",
                    env=[REDIS_URL, {"name": "REDIS_WAIT_REPLICAS", "value": "0"}],
                    env_from=[FROM_SHARED],
                ),
                SHARED,
            ],
            "REDIS_WAIT_REPLICAS=0",
        ),
        ([_deployment("init", env=[REDIS_URL], init=True)], "without REDIS_WAIT_REPLICAS"),
        ([_deployment("cron", env=[REDIS_URL], kind="CronJob")], "CronJob/cron"),
        (
            [
                _deployment(
                    "from-secret",
                    env=[
                        REDIS_URL,
                        {
                            "name": "REDIS_WAIT_REPLICAS",
                            "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}},
                        },
                    ],
                ),
            ],
            "not a literal number",
        ),
        (
            [
                _deployment(
                    "key-ref",
                    env=[
                        REDIS_URL,
                        {
                            "name": "REDIS_WAIT_REPLICAS",
                            "valueFrom": {
                                "configMapKeyRef": {"name": "shared", "key": "REDIS_WAIT_REPLICAS"}
                            },
                        },
                    ],
                ),
                SHARED,
            ],
            None,
        ),
        (
            [_deployment("env-from-secret", env_from=[{"secretRef": {"name": "adserver-secrets"}}])],
            "cannot be checked",
        ),
        (
            [
                _deployment(
                    "later-source-wins",
                    env=[REDIS_URL],
                    env_from=[FROM_SHARED, {"configMapRef": {"name": "zero"}}],
                ),
                SHARED,
                {"kind": "ConfigMap", "metadata": {"name": "zero"}, "data": {"REDIS_WAIT_REPLICAS": "0"}},
            ],
            "REDIS_WAIT_REPLICAS=0",
        ),
    ],
)
def test_checker_finds_a_workload_that_does_not_wait(docs, expected):
    problems = wait_violations(docs)
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1 and expected in problems[0], problems


def test_checker_refuses_more_waits_than_replicas():
    docs = [_deployment("two", env=[REDIS_URL, {"name": "REDIS_WAIT_REPLICAS", "value": "2"}])]
    assert wait_violations(docs, at_most=2) == []
    assert "do not exist" in wait_violations(docs, at_most=1)[0]


def test_an_overlay_that_drops_the_wait_fails(require_tool, tmp_path):
    """Through kustomize: an overlay giving the flusher REDIS_WAIT_REPLICAS=0 (env beats the ConfigMap)."""
    require_tool(
        bool(shutil.which("kubectl") or shutil.which("kustomize")), "kubectl/kustomize not installed"
    )
    shutil.copytree(REPO / "k8s", tmp_path / "k8s")
    broken = tmp_path / "k8s" / "overlays" / "broken"
    broken.mkdir()
    (broken / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "resources:\n  - ../mvp\n"
        "patches:\n"
        "  - target:\n      kind: Deployment\n      name: adserver-flusher\n"
        "    patch: |-\n"
        "      - op: add\n"
        "        path: /spec/template/spec/containers/0/env/-\n"
        '        value: {name: REDIS_WAIT_REPLICAS, value: "0"}\n'
    )
    problems = wait_violations(validate_k8s.render(broken))
    assert (
        "Deployment/adserver-flusher container flusher: REDIS_WAIT_REPLICAS=0 (a failover would "
        "lose acknowledged beacons)"
    ) in problems, problems
