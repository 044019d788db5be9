#!/usr/bin/env bash
# Print the Secrets of the dev overlay, with a fresh JWT key pair and random passwords:
#
#   scripts/k8s_dev_secrets.sh todo-platform-dev | kubectl apply -f -
#
# Prints the Namespace (so this works before the first `kubectl apply -k`), then
#   todo-platform-secrets   database-url, amqp-url, redis-url (the URLs every process reads)
#   todo-platform-jwt       jwt_private.pem (mounted into the gateway only), jwt_public.pem
#   todo-platform-dev-data  the passwords the dev PostgreSQL and RabbitMQ StatefulSets start with
# Nothing is written to disk outside a temporary directory removed on exit. Re-running it
# prints new values: the data services keep the passwords of their first start (they live on
# their volumes), so apply it once per fresh namespace. For an OpenAI key, add
#   --from-literal=openai-api-key=... to todo-platform-secrets (or `kubectl edit` it later).
set -euo pipefail

if [ "$#" -ne 1 ]; then
    echo "usage: $0 NAMESPACE   (prints YAML for: | kubectl apply -f -)" >&2
    exit 2
fi
namespace=$1
for tool in kubectl openssl; do
    command -v "$tool" >/dev/null || { echo "$0: $tool is missing" >&2; exit 2; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openssl genpkey -algorithm ed25519 -out "$work/jwt_private.pem" 2>/dev/null
openssl pkey -in "$work/jwt_private.pem" -pubout -out "$work/jwt_public.pem"
postgres_password=$(openssl rand -hex 24)
rabbitmq_password=$(openssl rand -hex 24)

# Client-side dry runs: kubectl formats the objects without contacting any cluster.
create() { kubectl create --dry-run=client -o yaml "$@"; }

create namespace "$namespace"
echo "---"
create secret generic todo-platform-secrets --namespace "$namespace" \
    --from-literal=database-url="postgresql+asyncpg://todo_platform:${postgres_password}@postgres:5432/todo_platform" \
    --from-literal=amqp-url="amqp://todo_platform:${rabbitmq_password}@rabbitmq:5672/todo_platform" \
    --from-literal=redis-url="redis://redis:6379/0"
echo "---"
create secret generic todo-platform-jwt --namespace "$namespace" \
    --from-file=jwt_private.pem="$work/jwt_private.pem" \
    --from-file=jwt_public.pem="$work/jwt_public.pem"
echo "---"
create secret generic todo-platform-dev-data --namespace "$namespace" \
    --from-literal=postgres-password="$postgres_password" \
    --from-literal=rabbitmq-password="$rabbitmq_password"
