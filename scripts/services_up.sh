#!/usr/bin/env bash
# Start the local PostgreSQL, RabbitMQ and Redis if they are installed but stopped,
# or say exactly what is missing. Safe to run when they are already up.
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {  # name port seconds
  for _ in $(seq 1 "$3"); do port_open "$2" && return 0; sleep 1; done
  echo "error: $1 did not start listening on 127.0.0.1:$2 within $3 s" >&2
  return 1
}

if ! port_open 5432; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    wait_port PostgreSQL 5432 30
  else
    echo "error: PostgreSQL is not running and not installed (apt-get install postgresql)" >&2
    exit 1
  fi
fi

if ! port_open 5672; then
  if command -v rabbitmq-server >/dev/null; then
    echo "starting RabbitMQ"
    rabbitmq-server -detached
    wait_port RabbitMQ 5672 90
  else
    echo "error: RabbitMQ is not running and not installed (apt-get install rabbitmq-server)" >&2
    exit 1
  fi
fi

if ! port_open 6379; then
  if command -v redis-server >/dev/null; then
    echo "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_port Redis 6379 15
  else
    echo "note: Redis is not installed; rate-limit counters stay in memory (apt-get install redis-server)"
  fi
fi
echo "PostgreSQL, RabbitMQ and Redis are up"
