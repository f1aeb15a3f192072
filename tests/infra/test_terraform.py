"""`terraform validate` accepts the module and rejects a broken attribute (it can fail).

Runs offline against the provider mirror (TF_PLUGIN_DIR, default /opt/tf-plugins), in a copy of
the module so nothing is written to the work tree.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


PLUGIN_DIR = Path(os.environ.get("TF_PLUGIN_DIR", "/opt/tf-plugins"))


@pytest.fixture(scope="module")
def terraform(require_tool) -> str:
    binary = shutil.which("terraform")
    require_tool(binary is not None, "terraform is not installed")
    require_tool(
        any(PLUGIN_DIR.glob("registry.terraform.io/hashicorp/aws/*/*/terraform-provider-aws*")),
        f"no hashicorp/aws provider in the mirror {PLUGIN_DIR}",
    )
    return binary


def _env(tmp: Path) -> dict[str, str]:
    rc = tmp / "terraformrc"
    rc.write_text(
        "provider_installation {\n  filesystem_mirror {\n"
        f'    path    = "{PLUGIN_DIR}"\n    include = ["registry.terraform.io/hashicorp/*"]\n  }}\n}}\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    env.update(TF_CLI_CONFIG_FILE=str(rc), CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1")
    return env


def _copy_module(tmp: Path) -> Path:
    module = tmp / "infrastructure"
    module.mkdir()
    for tf in (REPO / "infrastructure").glob("*.tf"):
        shutil.copy(tf, module)
    return module


def _validate(terraform: str, module: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    init = subprocess.run(
        [
            terraform,
            f"-chdir={module}",
            "init",
            "-backend=false",
            "-input=false",
            "-no-color",
            f"-plugin-dir={PLUGIN_DIR}",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    return subprocess.run(
        [terraform, f"-chdir={module}", "validate", "-no-color"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_module_validates(terraform, tmp_path):
    result = _validate(terraform, _copy_module(tmp_path), _env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_broken_attribute_fails_validate(terraform, tmp_path):
    module = _copy_module(tmp_path)
    rds = module / "rds.tf"
    text, count = re.subn(r"\bpublicly_accessible\b", "publicly_accessibel", rds.read_text())
    assert count == 1
    rds.write_text(text)

    result = _validate(terraform, module, _env(tmp_path))
    assert result.returncode != 0
    assert "publicly_accessibel" in result.stderr and "Unsupported argument" in result.stderr


def test_wrong_type_fails_validate(terraform, tmp_path):
    module = _copy_module(tmp_path)
    redis = module / "redis.tf"
    redis.write_text(
        redis.read_text().replace(
            "transit_encryption_enabled = true", 'transit_encryption_enabled = "sometimes"'
        )
    )

    result = _validate(terraform, module, _env(tmp_path))
    assert result.returncode != 0
    assert "transit_encryption_enabled" in result.stderr


def test_workspace_tfvars_only_set_declared_variables():
    """A typo in <workspace>.tfvars would only surface at apply time, against AWS."""
    declared = set()
    for tf in (REPO / "infrastructure").glob("*.tf"):
        declared |= set(re.findall(r'^variable\s+"(\w+)"', tf.read_text(), re.M))
    required = {
        "route53_zone_name",
        "app_domain_name",
        "cdn_domain_name",
        "cluster_endpoint_public_access_cidrs",
    }
    for tfvars in (REPO / "infrastructure").glob("*.tfvars"):
        assigned = set(re.findall(r"^(\w+)\s*=", tfvars.read_text(), re.M))
        assert assigned <= declared, f"{tfvars.name}: undeclared {assigned - declared}"
        assert required <= assigned, f"{tfvars.name}: missing {required - assigned}"
