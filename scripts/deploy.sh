#!/usr/bin/env bash
# Deploy the ad server to AWS (EKS) for one Terraform workspace, end to end:
#
#   1. terraform apply (infrastructure/, workspace = --workspace, vars from <workspace>.tfvars)
#   2. kubeconfig + AWS Load Balancer Controller (Helm, pinned chart)
#   3. docker build + push to ECR, tagged with the git commit (skipped if ECR has the tag)
#   4. render k8s/overlays/<workspace> and fill in the @@PLACEHOLDERS@@ from terraform output
#   5. Kubernetes Secret adserver-secrets from Secrets Manager (never written to disk)
#   6. migration Job (flask --app app migrate), waited for, BEFORE any new code runs
#   7. apply the Deployments, wait for the rollouts
#   8. second terraform apply once the ALB exists (DNS record + ALB alarms), then smoke tests:
#      /readyz and one /vast through the ALB
#
# Usage:
#   scripts/deploy.sh [--workspace mvp] [--tag TAG] [--dry-run] [--skip-terraform] [--yes]
#   scripts/deploy.sh --rollback [TAG]      # see "Rollback" below
#
#   --dry-run         print every command instead of running it (no AWS, Docker or cluster access)
#   --tag TAG         image tag to deploy (default: git commit, 12 chars; a dirty tree is refused)
#   --skip-terraform  do not run terraform apply (outputs are still read)
#   --yes             terraform apply -auto-approve
#
# Rollback:
#   --rollback        `kubectl rollout undo` of serving, admin, flusher and transcoder to their previous
#                     ReplicaSet (previous image and config), then smoke tests. Immediate.
#   --rollback TAG    redeploy an older image tag already in ECR (no build, no terraform, and NO
#                     migration: migrations are forward-only, and the old code must run on the
#                     newer schema, which is why migrations have to stay backward compatible).
#
# Environment:
#   TF_BACKEND_CONFIG   backend settings file for `terraform init` (default infrastructure/backend.hcl)
#   LBC_CHART_VERSION   aws-load-balancer-controller Helm chart version (default below)
#   SMOKE_VAST_QUERY    query string of the smoke-test ad request (default "", e.g. "?w=1920&h=1080")
#   ROLLOUT_TIMEOUT     per-Deployment rollout timeout (default 300s)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INFRA_DIR="$REPO_ROOT/infrastructure"
NAMESPACE=adserver
DEPLOYMENTS=(adserver-serving adserver-admin adserver-flusher adserver-transcoder)

WORKSPACE=mvp
TAG=""
DRY_RUN=0
SKIP_TERRAFORM=0
AUTO_APPROVE=0
ROLLBACK=0
ROLLBACK_TAG=""
TF_BACKEND_CONFIG="${TF_BACKEND_CONFIG:-$INFRA_DIR/backend.hcl}"
LBC_CHART_VERSION="${LBC_CHART_VERSION:-1.13.0}"
SMOKE_VAST_QUERY="${SMOKE_VAST_QUERY:-}"
ROLLOUT_TIMEOUT="${ROLLOUT_TIMEOUT:-300s}"

die() { echo "deploy: error: $*" >&2; exit 1; }
log() { echo "==> $*" >&2; }

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --workspace) WORKSPACE="${2:?--workspace needs a value}"; shift 2 ;;
    --tag) TAG="${2:?--tag needs a value}"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --skip-terraform) SKIP_TERRAFORM=1; shift ;;
    --yes) AUTO_APPROVE=1; shift ;;
    --rollback)
      ROLLBACK=1; shift
      if [[ $# -gt 0 && "$1" != --* ]]; then ROLLBACK_TAG="$1"; shift; fi ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

[[ "$WORKSPACE" =~ ^[a-z][a-z0-9-]*$ ]] || die "invalid workspace name: $WORKSPACE"
OVERLAY_DIR="$REPO_ROOT/k8s/overlays/$WORKSPACE"
TFVARS="$INFRA_DIR/$WORKSPACE.tfvars"

# --- command runners -----------------------------------------------------------------------------
# run: print, then execute unless --dry-run.
# capture NAME CMD...: print; execute and print stdout, or print <NAME> under --dry-run.
# run_secret DESCRIPTION CMD...: like run, but never echoes its arguments (they hold secrets).
show() { # print a command, shell-quoting only the arguments that need it
  local out="+" arg
  for arg in "$@"; do
    if [[ "$arg" =~ ^[][A-Za-z0-9_./:=@,\<\>+%{}\'!-]+$ ]]; then out+=" $arg"; else out+=" $(printf '%q' "$arg")"; fi
  done
  echo "$out" >&2
}
run() {
  show "$@"
  [[ $DRY_RUN == 1 ]] || "$@"
}
capture() {
  local name="$1"; shift
  show "$@"
  if [[ $DRY_RUN == 1 ]]; then echo "<$name>"; else "$@"; fi
}
tf() { run terraform -chdir="$INFRA_DIR" "$@"; }
tf_out() { capture "$1" terraform -chdir="$INFRA_DIR" output -raw "$1"; }

# --- preflight --------------------------------------------------------------------------------------
require_tools() {
  local missing=()
  for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  if [[ ${#missing[@]} -gt 0 ]]; then
    [[ $DRY_RUN == 1 ]] && { log "(dry run) missing tools, needed for a real run: ${missing[*]}"; return; }
    die "missing tools: ${missing[*]} (needed: $*)"
  fi
}

preflight() {
  if [[ $ROLLBACK == 1 && -z "$ROLLBACK_TAG" ]]; then
    require_tools kubectl curl # rollout undo only touches the cluster
    return
  fi
  local tools=(aws terraform kubectl curl python3 sha256sum)
  [[ $ROLLBACK == 1 ]] || tools+=(helm docker git)
  require_tools "${tools[@]}"
  [[ -d "$OVERLAY_DIR" ]] || die "no Kubernetes overlay for workspace '$WORKSPACE': $OVERLAY_DIR"
  local problems=()
  [[ -f "$TF_BACKEND_CONFIG" ]] || problems+=("missing Terraform backend config $TF_BACKEND_CONFIG (copy infrastructure/backend.hcl.example or set TF_BACKEND_CONFIG)")
  [[ $ROLLBACK == 1 || -f "$TFVARS" ]] || problems+=("missing $TFVARS (the workspace's variables; see infrastructure/README.md)")
  if [[ ${#problems[@]} -gt 0 ]]; then
    [[ $DRY_RUN == 1 ]] && { printf 'deploy: (dry run) %s\n' "${problems[@]}" >&2; return; }
    die "${problems[*]}"
  fi
  if [[ $DRY_RUN == 0 ]]; then
    aws sts get-caller-identity --query Arn --output text >/dev/null 2>&1 \
      || die "no usable AWS credentials (aws sts get-caller-identity failed)"
  fi
}

image_tag() {
  if [[ -n "$TAG" ]]; then echo "$TAG"; return; fi
  if [[ -n "$(git -C "$REPO_ROOT" status --porcelain --untracked-files=no)" ]]; then
    [[ $DRY_RUN == 1 ]] && { echo "<git-sha>"; return; }
    die "the work tree has uncommitted changes: commit them or pass --tag"
  fi
  git -C "$REPO_ROOT" rev-parse --short=12 HEAD 2>/dev/null && return
  [[ $DRY_RUN == 1 ]] && { echo "<git-sha>"; return; }
  die "no git commit to tag the image with: pass --tag"
}

# --- steps ------------------------------------------------------------------------------------------
terraform_init() {
  tf init -input=false -reconfigure -backend-config="$TF_BACKEND_CONFIG"
  tf workspace select -or-create "$WORKSPACE"
}

terraform_apply() {
  local approve=()
  [[ $AUTO_APPROVE == 1 ]] && approve=(-auto-approve)
  tf apply -input=false -var-file="$TFVARS" "${approve[@]}"
}

read_outputs() {
  REGION="$(tf_out aws_region)"
  CLUSTER="$(tf_out cluster_name)"
  VPC_ID="$(tf_out vpc_id)"
  ECR_URL="$(tf_out ecr_repository_url)"
  APP_ROLE_ARN="$(tf_out app_role_arn)"
  LBC_ROLE_ARN="$(tf_out load_balancer_controller_role_arn)"
  CERT_ARN="$(tf_out acm_certificate_arn)"
  APP_DOMAIN="$(tf_out app_domain_name)"
  PUBLIC_BASE_URL="$(tf_out public_base_url)"
  S3_BUCKET="$(tf_out s3_bucket)"
  EVENT_EXPORT_BUCKET="$(tf_out event_export_bucket)"
  FLUSHER_ROLE_ARN="$(tf_out flusher_role_arn)"
  CDN_BASE_URL="$(tf_out cdn_base_url)"
  DB_HOST="$(tf_out db_host)"; DB_PORT="$(tf_out db_port)"; DB_NAME="$(tf_out db_name)"
  REDIS_HOST="$(tf_out redis_host)"; REDIS_PORT="$(tf_out redis_port)"
  # Cluster mode (redis_num_node_groups > 1): REDIS_CLUSTER=1 and the event store's shards.
  REDIS_CLUSTER="$(tf_out redis_cluster)"; EVENT_SHARDS="$(tf_out event_shards)"
  JOBS_REDIS_HOST="$(tf_out jobs_redis_host)"  # empty without cluster mode
  DB_SECRET_ARN="$(tf_out db_secret_arn)"
  REDIS_SECRET_ARN="$(tf_out redis_secret_arn)"
  APP_SECRET_ARN="$(tf_out app_secret_arn)"
}

kube_context() {
  run aws eks update-kubeconfig --region "$REGION" --name "$CLUSTER" --alias "$CLUSTER"
}

install_load_balancer_controller() {
  run helm repo add eks https://aws.github.io/eks-charts --force-update
  # Pods cannot read instance metadata (IMDS hop limit 1), so region and VPC are passed in.
  run helm upgrade --install aws-load-balancer-controller eks/aws-load-balancer-controller \
    --namespace kube-system --version "$LBC_CHART_VERSION" --wait \
    --set clusterName="$CLUSTER" \
    --set region="$REGION" \
    --set vpcId="$VPC_ID" \
    --set serviceAccount.name=aws-load-balancer-controller \
    --set "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=$LBC_ROLE_ARN" \
    --set enableShield=false --set enableWaf=false --set enableWafv2=false
}

build_and_push() {
  local image="$ECR_URL:$IMAGE_TAG" registry="${ECR_URL%%/*}"
  if [[ $DRY_RUN == 0 ]] && aws ecr describe-images --region "$REGION" --repository-name "${ECR_URL#*/}" \
       --image-ids imageTag="$IMAGE_TAG" >/dev/null 2>&1; then
    log "image $image already in ECR (tags are immutable): not rebuilding"
    return
  fi
  echo "+ aws ecr get-login-password --region $REGION | docker login --username AWS --password-stdin $registry" >&2
  if [[ $DRY_RUN == 0 ]]; then
    aws ecr get-login-password --region "$REGION" | docker login --username AWS --password-stdin "$registry"
  fi
  # The nodes are x86_64 (t3); build for them whatever the operator's machine is.
  run docker build --platform linux/amd64 --pull -t "$image" "$REPO_ROOT"
  run docker push "$image"
}

require_image_in_ecr() {
  run aws ecr describe-images --region "$REGION" --repository-name "${ECR_URL#*/}" \
    --image-ids imageTag="$IMAGE_TAG" --query 'imageDetails[0].imagePushedAt' --output text \
    || die "image tag $IMAGE_TAG is not in ECR ($ECR_URL)"
}

secret_field() { # secret ARN, JSON field -> value on stdout (never echoed to the terminal)
  echo "+ aws secretsmanager get-secret-value --region $REGION --secret-id $1 --query SecretString --output text  # field $2" >&2
  if [[ $DRY_RUN == 1 ]]; then echo "<$2>"; return; fi
  aws secretsmanager get-secret-value --region "$REGION" --secret-id "$1" --query SecretString --output text \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2" \
    || die "cannot read field $2 of secret $1"
}

# Builds DATABASE_URL / REDIS_URL from Secrets Manager and applies them as the Kubernetes Secret.
# The values only ever live in this process and are piped to kubectl (never in argv, never on disk).
apply_secrets() {
  local db_user db_password redis_token secret_key
  db_user="$(secret_field "$DB_SECRET_ARN" username)"
  db_password="$(secret_field "$DB_SECRET_ARN" password)"
  redis_token="$(secret_field "$REDIS_SECRET_ARN" auth_token)"
  secret_key="$(secret_field "$APP_SECRET_ARN" secret_key)"

  DATABASE_URL="postgresql://$db_user:$db_password@$DB_HOST:$DB_PORT/$DB_NAME?sslmode=require"
  REDIS_URL="rediss://:$redis_token@$REDIS_HOST:$REDIS_PORT/0"
  # The transcode queue's Redis in cluster mode (rq needs one without); empty: the queue is on REDIS_URL.
  JOBS_REDIS_URL=""
  [[ -n "$JOBS_REDIS_HOST" ]] && JOBS_REDIS_URL="rediss://:$redis_token@$JOBS_REDIS_HOST:$REDIS_PORT/0"
  SECRET_KEY="$secret_key"
  # Rolls the pods when a secret or a Terraform output changes (pod template annotation).
  CONFIG_CHECKSUM="$(printf '%s\n' "$DATABASE_URL" "$REDIS_URL" "$JOBS_REDIS_URL" "$SECRET_KEY" "$S3_BUCKET" "$CDN_BASE_URL" \
    "$PUBLIC_BASE_URL" "$APP_ROLE_ARN" "$CERT_ARN" "$EVENT_EXPORT_BUCKET" "$FLUSHER_ROLE_ARN" "$REDIS_CLUSTER" \
    "$EVENT_SHARDS" | sha256sum | cut -c1-16)"

  echo "+ kubectl apply -f - <<< Secret $NAMESPACE/adserver-secrets {SECRET_KEY, DATABASE_URL, REDIS_URL, JOBS_REDIS_URL} (values not shown)" >&2
  [[ $DRY_RUN == 1 ]] && return
  SECRET_KEY="$SECRET_KEY" DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" JOBS_REDIS_URL="$JOBS_REDIS_URL" \
    NAMESPACE="$NAMESPACE" python3 - <<'PY' | kubectl apply -f -
import base64, json, os
names = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "JOBS_REDIS_URL")
data = {k: base64.b64encode(os.environ[k].encode()).decode() for k in names}
print(json.dumps({
    "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
    "metadata": {"name": "adserver-secrets", "namespace": os.environ["NAMESPACE"],
                 "labels": {"app.kubernetes.io/name": "adserver", "app.kubernetes.io/component": "shared"}},
    "data": data,
}))
PY
}

render_manifests() {
  RENDERED="$WORK_DIR/manifests.yaml"
  run kubectl kustomize "$OVERLAY_DIR" --output "$WORK_DIR/kustomize.yaml"
  echo "+ sed (fill @@PLACEHOLDERS@@ from terraform output) < $WORK_DIR/kustomize.yaml > $RENDERED" >&2
  [[ $DRY_RUN == 1 ]] && return
  esc() { printf '%s' "$1" | sed -e 's/[\/&|]/\\&/g'; }
  sed -e "s|@@IMAGE_REPOSITORY@@|$(esc "$ECR_URL")|g" \
      -e "s|@@IMAGE_TAG@@|$(esc "$IMAGE_TAG")|g" \
      -e "s|@@AWS_REGION@@|$(esc "$REGION")|g" \
      -e "s|@@S3_BUCKET@@|$(esc "$S3_BUCKET")|g" \
      -e "s|@@EVENT_EXPORT_BUCKET@@|$(esc "$EVENT_EXPORT_BUCKET")|g" \
      -e "s|@@FLUSHER_ROLE_ARN@@|$(esc "$FLUSHER_ROLE_ARN")|g" \
      -e "s|@@CDN_BASE_URL@@|$(esc "$CDN_BASE_URL")|g" \
      -e "s|@@REDIS_CLUSTER@@|$(esc "$REDIS_CLUSTER")|g" \
      -e "s|@@EVENT_SHARDS@@|$(esc "$EVENT_SHARDS")|g" \
      -e "s|@@PUBLIC_BASE_URL@@|$(esc "$PUBLIC_BASE_URL")|g" \
      -e "s|@@APP_DOMAIN@@|$(esc "$APP_DOMAIN")|g" \
      -e "s|@@APP_ROLE_ARN@@|$(esc "$APP_ROLE_ARN")|g" \
      -e "s|@@ACM_CERTIFICATE_ARN@@|$(esc "$CERT_ARN")|g" \
      -e "s|@@CONFIG_CHECKSUM@@|$(esc "$CONFIG_CHECKSUM")|g" \
      "$WORK_DIR/kustomize.yaml" > "$RENDERED"
  if grep -n '@@[A-Z_0-9]*@@' "$RENDERED" >&2; then
    die "placeholders left in the rendered manifests (listed above): add them to render_manifests"
  fi
}

run_migrations() {
  # A Job's pod template is immutable: the previous run is deleted, then re-created with the new image.
  run kubectl -n "$NAMESPACE" delete job adserver-migrate --ignore-not-found --wait=true
  run kubectl apply -f "${RENDERED:-<rendered>}" -l app.kubernetes.io/component=migrate
  log "waiting for the migration Job (flask --app app migrate)"
  [[ $DRY_RUN == 1 ]] && { echo "+ (poll job/adserver-migrate until Complete or Failed, 600 s max)" >&2; return; }
  local deadline=$((SECONDS + 600)) succeeded failed
  while (( SECONDS < deadline )); do
    succeeded="$(kubectl -n "$NAMESPACE" get job adserver-migrate -o jsonpath='{.status.succeeded}')"
    failed="$(kubectl -n "$NAMESPACE" get job adserver-migrate -o jsonpath='{.status.conditions[?(@.type=="Failed")].status}')"
    if [[ "$succeeded" == 1 ]]; then
      kubectl -n "$NAMESPACE" logs job/adserver-migrate --tail=20 || true
      return
    fi
    if [[ "$failed" == True ]]; then
      kubectl -n "$NAMESPACE" logs job/adserver-migrate --tail=100 || true
      die "migration Job failed: nothing was rolled out (the previous version is still serving)"
    fi
    sleep 5
  done
  die "migration Job did not finish within 600 s"
}

wait_rollouts() {
  for deployment in "${DEPLOYMENTS[@]}"; do
    run kubectl -n "$NAMESPACE" rollout status "deployment/$deployment" --timeout="$ROLLOUT_TIMEOUT"
  done
}

alb_hostname() {
  [[ $DRY_RUN == 1 ]] && { echo "<alb-hostname>"; return; }
  local deadline=$((SECONDS + 300)) host=""
  while (( SECONDS < deadline )); do
    host="$(kubectl -n "$NAMESPACE" get ingress adserver -o jsonpath='{.status.loadBalancer.ingress[0].hostname}' 2>/dev/null || true)"
    [[ -n "$host" ]] && { echo "$host"; return; }
    sleep 10
  done
  die "the Ingress got no ALB address within 300 s (kubectl -n kube-system logs deploy/aws-load-balancer-controller)"
}

# Through the ALB, with the real host name (SNI + Host header) even before DNS has propagated.
smoke_test() {
  local alb="$1" base="https://$APP_DOMAIN"
  local via=(--connect-to "$APP_DOMAIN:443:$alb:443")
  run curl -fsS --retry 10 --retry-delay 6 --retry-all-errors --max-time 10 "${via[@]}" "$base/readyz" -o /dev/null
  log "smoke test: GET /vast$SMOKE_VAST_QUERY"
  [[ $DRY_RUN == 1 ]] && { echo "+ curl -fsS ${via[*]} '$base/vast$SMOKE_VAST_QUERY' | grep -q '<VAST'" >&2; return; }
  curl -fsS --max-time 10 "${via[@]}" "$base/vast$SMOKE_VAST_QUERY" | grep -q '<VAST' \
    || die "GET /vast did not return a VAST document"
  log "smoke tests passed: /readyz and /vast through $alb"
}

# --- main ---------------------------------------------------------------------------------------------
preflight
WORK_DIR="$(mktemp -d)"
trap 'rm -rf "$WORK_DIR"' EXIT
[[ $DRY_RUN == 1 ]] && log "dry run: printing commands only"

if [[ $ROLLBACK == 1 && -z "$ROLLBACK_TAG" ]]; then
  # Previous ReplicaSet of each Deployment: previous image and previous ConfigMap (old hashed
  # ConfigMaps are kept because manifests are applied without --prune).
  for deployment in "${DEPLOYMENTS[@]}"; do
    run kubectl -n "$NAMESPACE" rollout undo "deployment/$deployment"
  done
  wait_rollouts
  APP_DOMAIN="$(capture app-domain kubectl -n "$NAMESPACE" get ingress adserver -o jsonpath='{.spec.rules[0].host}')"
  smoke_test "$(alb_hostname)"
  log "rolled back; the database schema is unchanged (migrations are forward-only)"
  exit 0
fi

if [[ $ROLLBACK == 1 ]]; then
  SKIP_TERRAFORM=1
  TAG="$ROLLBACK_TAG"
fi

terraform_init
[[ $SKIP_TERRAFORM == 1 ]] || terraform_apply
read_outputs
IMAGE_TAG="$(image_tag)"
log "workspace $WORKSPACE, cluster $CLUSTER, image $ECR_URL:$IMAGE_TAG"

kube_context
if [[ $ROLLBACK == 1 ]]; then
  require_image_in_ecr
else
  install_load_balancer_controller
  build_and_push
fi

# The namespace, service accounts and ConfigMap first: the Secret and the Job live in them.
CONFIG_CHECKSUM="pending"
render_manifests
run kubectl apply -f "${RENDERED:-<rendered>}" -l app.kubernetes.io/component=shared
apply_secrets
render_manifests # again, now with the real checksum of the secrets

if [[ $ROLLBACK == 1 ]]; then
  log "rollback to $IMAGE_TAG: migrations are skipped (forward-only)"
else
  run_migrations
fi

run kubectl apply -f "${RENDERED:-<rendered>}" -l 'app.kubernetes.io/component!=migrate'
wait_rollouts

ALB="$(alb_hostname)"
if [[ $SKIP_TERRAFORM == 0 && -z "$(tf_out alb_dns_name | sed 's/^<.*>$//')" ]]; then
  log "the ALB is new: second terraform apply adds its DNS record and alarms"
  terraform_apply
fi
smoke_test "$ALB"
log "deployed $IMAGE_TAG to $WORKSPACE: $PUBLIC_BASE_URL"
