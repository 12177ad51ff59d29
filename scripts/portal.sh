#!/usr/bin/env bash
# `make portal`: the portal on this machine. Starts redis-server on a local port if none
# answers there, one job worker, and Django's server on 127.0.0.1; the first run makes a
# demo central editor, a fictional establishment, its editor and its approver, and prints
# their passwords once. Ctrl-C stops the worker and the server (and the Redis it started).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export GUIDEPRESS_PORTAL_DATA=${GUIDEPRESS_PORTAL_DATA:-$PWD/var/portal}
REDIS_PORT=${PORTAL_REDIS_PORT:-6390}
PORT=${PORTAL_PORT:-8000}
export PORTAL_REDIS_URL=${PORTAL_REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}
export PORTAL_INSECURE_HTTP=1  # plain http on 127.0.0.1; see docs/deploy.md for a server
mkdir -p "$GUIDEPRESS_PORTAL_DATA"
KEY_FILE=$GUIDEPRESS_PORTAL_DATA/secret_key
if [[ ! -s $KEY_FILE ]]; then
  (umask 077; "$PY" -c "import secrets; print(secrets.token_urlsafe(50))" >"$KEY_FILE")
fi
PORTAL_SECRET_KEY=$(cat "$KEY_FILE")
export PORTAL_SECRET_KEY

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  echo "Starting redis-server on 127.0.0.1:$REDIS_PORT"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --loglevel warning &
  pids+=($!)
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
"$PY" -m portal migrate --verbosity 0
"$PY" -m portal portal_demo
"$PY" -m portal rqworker portal --worker-class portal.core.jobs.Worker &
pids+=($!)
echo "Portal: http://127.0.0.1:$PORT/  (Ctrl-C to stop)"
"$PY" -m portal runserver "127.0.0.1:$PORT" --insecure --noreload
