#!/usr/bin/env bash
# `make run`: the product on its embedded defaults (SQLite, tasks inline) with a fake Calendly
# seeded with a demo organization, a demo directory, and the first download already done.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
# shellcheck source=scripts/demo-env.sh
. scripts/demo-env.sh
SANDBOX_PORT=${SANDBOX_PORT:-8765}
SANDBOX_TOKEN=demo-admin-token
SANDBOX_LOG=${SANDBOX_LOG:-calendly-sandbox.log}

$PY manage.py migrate --noinput
$PY manage.py calendly_sandbox --port "$SANDBOX_PORT" --members 250 --plan enterprise --seed 1 \
  --token "$SANDBOX_TOKEN" >"$SANDBOX_LOG" 2>&1 &
SANDBOX_PID=$!
trap 'kill $SANDBOX_PID 2>/dev/null || true' EXIT INT TERM

$PY manage.py calendly_demo --url "http://127.0.0.1:$SANDBOX_PORT" --token "$SANDBOX_TOKEN"
$PY manage.py demo_setup --url "http://$HOST:$PORT/admin/"
echo "The fake Calendly runs on http://127.0.0.1:$SANDBOX_PORT (log: $SANDBOX_LOG)."
echo "Links in e-mails start with $PUBLIC_BASE_URL."
$PY manage.py runserver "$HOST:$PORT"
