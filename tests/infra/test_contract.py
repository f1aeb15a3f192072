"""The image and the manifests agree with the application's contract.

- Dockerfile: gunicorn with the config file as CMD, port 8000, HEALTHCHECK on /healthz, non-root.
- Manifests: container port 8000, liveness /healthz, readiness /readyz (serving: /readyz/serving, and
  APP_ROLE=serving on the serving pods alone),
  every environment variable a manifest sets is a documented setting (Settings.documented()) or one
  of gunicorn.conf.py's knobs.
- The names Terraform and the manifests share (namespace, service account, ingress group) and the
  placeholders scripts/deploy.sh fills in.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from app.settings import Settings

REPO = Path(__file__).resolve().parents[2]


PORT = 8000
GUNICORN_KNOBS = {
    "WEB_CONCURRENCY",
    "GUNICORN_WORKER_CONNECTIONS",
    "GUNICORN_TIMEOUT",
    "PROMETHEUS_MULTIPROC_DIR",
}
DOCUMENTED = {name for name, _default, _help in Settings.documented()}
ALLOWED_ENV = DOCUMENTED | GUNICORN_KNOBS
IMAGE_FILES = [
    "app/",
    "vast/",
    "templates/",
    "migrations/",
    "alembic.ini",
    "wsgi.py",
    "gunicorn.conf.py",
    "requirements.txt",
]
WEB_COMPONENTS = {"serving", "admin"}
BUCKET_COMPONENTS = WEB_COMPONENTS | {"transcoder"}  # read and write creatives in the bucket (IRSA)


# --- Dockerfile -------------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuations joined and comments dropped."""
    lines, current = [], ""
    for raw in (REPO / "Dockerfile").read_text().splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        instruction, _, args = current.partition(" ")
        lines.append((instruction.upper(), args.strip()))
        current = ""
    return lines


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (ins, _) in enumerate(instructions) if ins == "FROM")
    return instructions[last_from:]


def test_final_stage_is_slim_python_311():
    base = final_stage()[0][1].split()[0]
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?(@sha256:[0-9a-f]{64})?", base), base
    assert sum(1 for ins, _ in dockerfile_instructions() if ins == "FROM") >= 2, "multi-stage build expected"


def test_cmd_runs_gunicorn_with_its_config_file():
    stage = final_stage()
    cmd = [json.loads(args) for ins, args in stage if ins == "CMD"]
    assert cmd == [["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]], "exec-form CMD expected"
    assert not [args for ins, args in stage if ins == "ENTRYPOINT"], "no ENTRYPOINT: CMD is the whole command"


def test_exposes_the_app_port():
    assert [args for ins, args in final_stage() if ins == "EXPOSE"] == [str(PORT)]
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(args for ins, args in final_stage() if ins == "ENV")))
    assert env.get("PORT") == str(PORT) and env.get("HOST") == "0.0.0.0"


def test_healthcheck_probes_healthz():
    checks = [args for ins, args in final_stage() if ins == "HEALTHCHECK"]
    assert len(checks) == 1 and "/healthz" in checks[0] and "8000" in checks[0]


def test_runs_as_numeric_non_root_user():
    users = [args for ins, args in final_stage() if ins == "USER"]
    assert users, "USER missing"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) >= 10000, "numeric uid >= 10000 (runAsNonRoot can verify it)"


def test_no_build_tools_or_installs_in_the_final_stage():
    runs = " ".join(args for ins, args in final_stage() if ins == "RUN")
    for forbidden in ("apt-get install", "pip install", "gcc", "build-essential"):
        assert forbidden not in runs


def test_image_contains_every_file_the_app_needs():
    copied = " ".join(args for ins, args in final_stage() if ins == "COPY" and "--from" not in args)
    allowed = (REPO / ".dockerignore").read_text().splitlines()
    for path in IMAGE_FILES:
        assert path in copied, f"{path} not copied into the image"
        assert f"!{path}" in allowed, f"{path} excluded by .dockerignore"


def test_dockerfile_environment_is_documented():
    names = set(re.findall(r"(\w+)=", " ".join(args for ins, args in final_stage() if ins == "ENV")))
    runtime = {"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "HOST", "PORT"}
    assert names - ALLOWED_ENV - runtime == set()


# --- manifests --------------------------------------------------------------------------------------


def workloads(docs):
    """(component, pod spec) of every Deployment and Job."""
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            yield doc["metadata"]["labels"]["app.kubernetes.io/component"], doc["spec"]["template"]["spec"]


def containers(docs):
    for component, spec in workloads(docs):
        for container in spec["containers"] + spec.get("initContainers", []):
            yield component, spec, container


def config_map(docs, name):
    matches = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"ConfigMap {name} not rendered"
    return matches[0]["data"]


def test_every_env_var_is_a_documented_setting_or_gunicorn_knob(deployed):
    for overlay, docs in deployed.items():
        for component, _spec, container in containers(docs):
            for env in container.get("env", []):
                assert env["name"] in ALLOWED_ENV, f"{overlay} {component}: {env['name']} is not a setting"
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == "adserver-secrets" and ref["key"] == env["name"]
            for source in container.get("envFrom", []):
                assert set(source) == {"configMapRef"}, "only ConfigMaps are injected wholesale"
                data = config_map(docs, source["configMapRef"]["name"])
                unknown = set(data) - ALLOWED_ENV
                assert not unknown, f"{overlay}: ConfigMap keys that are not settings: {unknown}"


def test_production_settings(deployed):
    for overlay, docs in deployed.items():
        cm_names = {s["configMapRef"]["name"] for _c, _s, c in containers(docs) for s in c.get("envFrom", [])}
        assert len(cm_names) == 1
        data = config_map(docs, cm_names.pop())
        assert data["APP_ENV"] == "production"
        assert data["EVENT_FLUSHER"] == "external", "web pods must leave the beacon stream to the flusher"
        assert data["TRUSTED_PROXY_COUNT"] == "1", "exactly one proxy (the ALB) in front"
        for required in (
            "S3_BUCKET",
            "AWS_REGION",
            "CDN_BASE_URL",
            "PUBLIC_BASE_URL",
            "PROMETHEUS_MULTIPROC_DIR",
        ):
            assert required in data, f"{overlay}: {required} missing"
        for component, _spec, container in containers(docs):
            secrets = {e["name"] for e in container.get("env", []) if "valueFrom" in e}
            # The admin side takes the transcode queue's Redis (cluster mode); serving has no queue.
            jobs = set() if component == "serving" else {"JOBS_REDIS_URL"}
            assert secrets == {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"} | jobs, component


def test_web_containers_listen_on_8000_with_the_right_probes(deployed):
    seen = set()
    for overlay, docs in deployed.items():
        for component, _spec, container in containers(docs):
            if component not in WEB_COMPONENTS:
                assert "ports" not in container and "livenessProbe" not in container, component
                continue
            seen.add(component)
            assert "command" not in container and "args" not in container, "web pods run the image's CMD"
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            assert ports == {"http": PORT}, f"{overlay} {component}: {ports}"
            probes = {
                kind: container[kind]["httpGet"]
                for kind in ("livenessProbe", "readinessProbe", "startupProbe")
            }
            assert probes["livenessProbe"]["path"] == "/healthz"
            # Serving stays ready through a database outage (it decides from its catalog); admin does not.
            expected = "/readyz/serving" if component == "serving" else "/readyz"
            assert probes["readinessProbe"]["path"] == expected
            assert probes["startupProbe"]["path"] == "/healthz"
            assert all(p["port"] in ("http", PORT) for p in probes.values())
    assert seen == WEB_COMPONENTS


def test_only_the_serving_pods_run_the_serving_role(deployed):
    """APP_ROLE=serving on the serving Deployment alone: the flusher, transcoder and migration commands
    need the whole app (app.admin_side), so the shared ConfigMap never sets it."""
    for overlay, docs in deployed.items():
        roles = {
            component: {e["name"]: e.get("value") for e in container.get("env", [])}.get("APP_ROLE")
            for component, _spec, container in containers(docs)
        }
        assert roles.pop("serving") == "serving", overlay
        assert set(roles.values()) == {None}, f"{overlay}: {roles}"
        for doc in docs:
            if doc["kind"] == "ConfigMap":
                assert "APP_ROLE" not in doc["data"], overlay


def test_worker_commands(deployed):
    for docs in deployed.values():
        commands = {component: c.get("command") for component, _s, c in containers(docs)}
        assert commands["flusher"] == ["flask", "--app", "app", "flush-events"]
        assert commands["transcoder"] == ["flask", "--app", "app", "worker"]
        assert commands["migrate"] == ["flask", "--app", "app", "migrate"]


def test_prometheus_scrape_annotations(deployed):
    for docs in deployed.values():
        for doc in docs:
            if (
                doc["kind"] == "Deployment"
                and doc["metadata"]["labels"]["app.kubernetes.io/component"] in WEB_COMPONENTS
            ):
                annotations = doc["spec"]["template"]["metadata"]["annotations"]
                assert annotations["prometheus.io/scrape"] == "true"
                assert annotations["prometheus.io/port"] == str(PORT)
                assert annotations["prometheus.io/path"] == "/metrics"


def test_security_context_everywhere(deployed):
    for docs in deployed.values():
        for component, spec, container in containers(docs):
            pod = spec["securityContext"]
            assert pod["runAsNonRoot"] is True and pod["seccompProfile"]["type"] == "RuntimeDefault", (
                component
            )
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, component
            assert sc["allowPrivilegeEscalation"] is False, component
            assert sc["capabilities"]["drop"] == ["ALL"], component
            assert "requests" in container["resources"] and "limits" in container["resources"], component
            assert spec["automountServiceAccountToken"] is False, component


def test_writable_paths_are_volumes(deployed):
    """readOnlyRootFilesystem: /tmp and the prometheus multiprocess dir must be emptyDirs."""
    for docs in deployed.values():
        cm = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
        for component, spec, container in containers(docs):
            volumes = {v["name"]: v for v in spec.get("volumes", [])}
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            for path in ("/tmp", cm["PROMETHEUS_MULTIPROC_DIR"]):
                assert path in mounts, f"{component}: {path} not mounted"
                assert "emptyDir" in volumes[mounts[path]], f"{component}: {path} is not an emptyDir"


def test_services_and_ingress_route_to_port_8000(deployed):
    for overlay, docs in deployed.items():
        services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
        pods = {component: spec for component, spec in workloads(docs)}
        for name, service in services.items():
            component = service["spec"]["selector"]["app.kubernetes.io/component"]
            container_ports = {
                p["name"]: p["containerPort"]
                for c in pods[component]["containers"]
                for p in c.get("ports", [])
            }
            for port in service["spec"]["ports"]:
                assert container_ports.get(port["targetPort"], port["targetPort"]) == PORT, (
                    f"{overlay} {name}"
                )

        ingress = next(d for d in docs if d["kind"] == "Ingress")
        routes = {}
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] in services, backend
                assert backend["port"]["name"] in {
                    p["name"] for p in services[backend["name"]]["spec"]["ports"]
                }
                routes[path["path"]] = backend["name"]
        for path in ("/vast", "/t", "/api/v1/ad-request", "/api/v1/impression"):
            assert routes[path] == "adserver-serving", path
        for path in ("/api", "/admin"):
            assert routes[path] == "adserver-admin", path
        assert "/metrics" not in routes and "/" not in routes, "metrics must stay internal"
        order = list(routes)
        assert order.index("/api/v1/ad-request") < order.index("/api"), "specific serving paths before /api"
        annotations = ingress["metadata"]["annotations"]
        assert annotations["alb.ingress.kubernetes.io/healthcheck-path"] == "/healthz"
        assert annotations["alb.ingress.kubernetes.io/ssl-redirect"] == "443"


# --- names shared with Terraform and the deploy script ------------------------------------------------


def terraform_default(variable: str) -> str:
    text = (REPO / "infrastructure" / "variables.tf").read_text()
    match = re.search(rf'variable\s+"{variable}"\s*\{{[^}}]*?default\s*=\s*"([^"]*)"', text, re.S)
    assert match, variable
    return match.group(1)


def test_names_shared_with_terraform(deployed):
    for docs in deployed.values():
        namespace = next(d for d in docs if d["kind"] == "Namespace")["metadata"]["name"]
        assert namespace == terraform_default("k8s_namespace")
        accounts = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ServiceAccount"}
        irsa = accounts[terraform_default("k8s_service_account")]
        assert "eks.amazonaws.com/role-arn" in irsa["metadata"]["annotations"]
        flusher = accounts[terraform_default("k8s_flusher_service_account")]
        assert flusher["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == "@@FLUSHER_ROLE_ARN@@"
        for component, spec in workloads(docs):
            expected = {
                **dict.fromkeys(BUCKET_COMPONENTS, terraform_default("k8s_service_account")),
                "flusher": terraform_default("k8s_flusher_service_account"),
            }.get(component, "adserver-jobs")
            assert spec["serviceAccountName"] == expected, component
            assert (
                "eks.amazonaws.com/role-arn"
                not in accounts[spec["serviceAccountName"]]["metadata"].get("annotations", {})
                or expected != "adserver-jobs"
            ), f"{component} must not get AWS credentials"
        ingress = next(d for d in docs if d["kind"] == "Ingress")
        assert ingress["metadata"]["annotations"][
            "alb.ingress.kubernetes.io/group.name"
        ] == terraform_default("alb_ingress_group")


def test_every_placeholder_is_filled_by_deploy_sh(overlays):
    script = (REPO / "scripts" / "deploy.sh").read_text()
    filled = set(re.findall(r"s\|@@([A-Z0-9_]+)@@\|", script))
    for overlay, docs in overlays.items():
        used = set(re.findall(r"@@([A-Z0-9_]+)@@", json.dumps(docs)))
        assert used <= filled, f"{overlay}: placeholders deploy.sh does not fill: {used - filled}"


def test_deploy_dry_run_runs_offline():
    """--dry-run prints the whole pipeline without touching AWS, Docker or a cluster."""
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "deploy.sh"), "--dry-run"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
    )
    assert result.returncode == 0, result.stderr
    out = result.stderr
    steps = [
        "terraform -chdir=",
        "docker build",
        "docker push",
        "kubectl kustomize",
        "component=migrate",
        "rollout status deployment/adserver-serving",
        "/readyz",
        "/vast",
    ]
    positions = [out.find(step) for step in steps]
    assert -1 not in positions, dict(zip(steps, positions, strict=True))
    assert positions == sorted(positions), (
        "build -> render -> migrate -> roll out -> smoke test, in that order"
    )


@pytest.mark.parametrize("argv", [["--rollback"], ["--rollback", "0123456789ab"]])
def test_deploy_rollback_dry_run(argv):
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "deploy.sh"), "--dry-run", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
    )
    assert result.returncode == 0, result.stderr
    if len(argv) == 1:
        assert "rollout undo deployment/adserver-serving" in result.stderr
    else:
        assert "component=migrate" not in result.stderr, "a rollback never runs migrations"
        assert "0123456789ab" in result.stderr


def test_deploy_rejects_unknown_arguments():
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "deploy.sh"), "--frobnicate"], capture_output=True, text=True
    )
    assert result.returncode != 0 and "unknown argument" in result.stderr


def test_shell_scripts_are_strict():
    for name in ("deploy.sh", "check-infra.sh"):
        text = (REPO / "scripts" / name).read_text()
        assert "set -euo pipefail" in text, name
