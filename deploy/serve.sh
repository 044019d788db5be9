#!/bin/sh
# Start one process of the platform: the container image's entrypoint and the Procfile's command.
#
#   deploy/serve.sh PROCESS
#
# Web processes run under granian and listen on HOST (default 0.0.0.0) and PORT (default: the
# process's own port). SHUTDOWN_GRACE_SECONDS bounds a graceful stop: on SIGTERM granian stops
# accepting, lets in-flight requests finish and runs the app's shutdown, then kills what is left.
# The commands and the modules they run are relative to the repository (or /app in the image),
# and granian and python are taken from PATH (the project's virtualenv).
set -eu

usage() {
    cat >&2 <<'EOF'
usage: serve.sh PROCESS

web processes (HOST, PORT, SHUTDOWN_GRACE_SECONDS):
  gateway              public API                          port 8000
  todos                todos service                       port 8001
  chat                 assistant                           port 8002
  contexts             context-generation jobs             port 8003
  contexts-worker      context generation (health/metrics) port 8013

one-shot commands:
  migrate              create the database if missing and migrate every schema
  wait-for-migrations  block until every schema is at this release's head revision
                       (MIGRATIONS_WAIT_SECONDS, default 300)
  dev-keys             write a development JWT key pair into JWT_KEYS_DIR (default .keys)
EOF
    exit 2
}

[ "$#" -eq 1 ] || usage

# Module paths and deploy/granian-logging.json are relative to the repository root.
root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"

grace=20
case "$1" in
    gateway)
        module=services.gateway.app:create_app
        port=8000
        # Every open event stream holds a connection; granian's default admits 1,024 per
        # process (idle keep-alive ones included), and the next client would wait unanswered.
        GRANIAN_BACKPRESSURE=${GRANIAN_BACKPRESSURE:-4096}
        export GRANIAN_BACKPRESSURE
        ;;
    todos) module=services.todos.app:create_app; port=8001 ;;
    chat) module=services.chat.app:create_app; port=8002 ;;
    contexts) module=services.contexts.app:create_app; port=8003 ;;
    contexts-worker)
        module=services.contexts.worker.app:create_app
        port=8013
        # The worker finishes and acks its in-flight batch for up to WORKER_STOP_GRACE_SECONDS
        # on SIGTERM; granian must not kill it before that.
        worker_grace=${WORKER_STOP_GRACE_SECONDS:-90}
        worker_grace=${worker_grace%%.*}
        case "$worker_grace" in
            '' | *[!0-9]*) worker_grace=90 ;;
        esac
        grace=$((worker_grace + 10))
        ;;
    migrate) exec python scripts/migrate.py ;;
    wait-for-migrations) exec python scripts/migrate.py --wait ;;
    dev-keys) exec python scripts/dev_keys.py ;;
    *) usage ;;
esac

if ! command -v granian >/dev/null 2>&1; then
    echo "serve.sh: granian is not on PATH; run it inside the project's virtualenv" \
        "(uv run deploy/serve.sh $1)" >&2
    exit 127
fi

exec granian --interface asgi --factory \
    --host "${HOST:-0.0.0.0}" --port "${PORT:-$port}" \
    --loop uvloop \
    --workers-kill-timeout "${SHUTDOWN_GRACE_SECONDS:-$grace}" \
    --log-config deploy/granian-logging.json \
    "$module"
