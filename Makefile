# Todo platform: `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN := $(UV) run --frozen
# Test files run in this many pytest processes (make test TEST_PROCESSES=1: one, in order).
TEST_PROCESSES ?= 2

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

.PHONY: install
install: $(UV) ## Create .venv and install the locked dependencies
	$(UV) sync --frozen

.PHONY: keys
keys: install ## Generate the development JWT key pair into .keys/ (git-ignored)
	$(RUN) python scripts/dev_keys.py

.PHONY: services
services: ## Start PostgreSQL, RabbitMQ and Redis if installed but stopped
	bash scripts/services_up.sh

.PHONY: migrate
migrate: install services ## Create the database and run every service's migrations
	$(RUN) python scripts/migrate.py

.PHONY: vhost
vhost: services ## Create the development RabbitMQ vhost (todo_platform) if missing
	@rabbitmqctl -q list_vhosts | grep -qx todo_platform || rabbitmqctl -q add_vhost todo_platform
	@rabbitmqctl -q set_permissions -p todo_platform guest ".*" ".*" ".*"

.PHONY: run
run: keys migrate vhost ## Start every service in the foreground (Ctrl-C stops all)
	@echo ""
	@echo "  Gateway:  http://127.0.0.1:8000   (the only public entry)"
	@echo "  API docs: http://127.0.0.1:8000/schema  (OpenAPI: /schema/openapi.json)"
	@echo ""
	$(RUN) honcho start -f Procfile

.PHONY: test
# Two pytest processes share the files (pytest-xdist, a whole file each, each process with its
# own database, vhost and services): most tests wait on processes and the network. The API
# fuzzer (tests/fuzz) then runs on its own, as the last stage.
test: install services ## Unit, integration and end-to-end tests, then the API fuzzer (real Postgres, RabbitMQ)
	$(RUN) pytest -n $(TEST_PROCESSES) --dist loadfile -m "not fuzz"
	$(RUN) pytest tests/fuzz

.PHONY: test-unit
# Marked by folder in tests/conftest.py (also: pytest -m integration, pytest -m e2e).
test-unit: install ## Unit tests only: fast, no running PostgreSQL, RabbitMQ or Redis needed
	$(RUN) pytest -m unit tests/unit

.PHONY: fuzz
fuzz: install services ## Only the API fuzzer: schemathesis on the gateway's merged OpenAPI, full stack
	$(RUN) pytest tests/fuzz

.PHONY: lint
lint: install ## ruff + mypy
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy shared services scripts contexts_cli

.PHONY: format
format: install ## Format and autofix with ruff
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

.PHONY: k8s-validate
k8s-validate: install ## Render every Kubernetes overlay and validate it offline (kubectl >= 1.27)
	$(RUN) python scripts/k8s_validate.py

.PHONY: image
image: ## Build the container image (needs a Docker engine): todo-platform:dev
	docker build -f deploy/Dockerfile -t todo-platform:dev .

.PHONY: bench bench-http bench-chat bench-lists bench-contexts bench-sse bench-reminders
bench: install services ## Every benchmark in one run, as ratios to its yardstick; summary + bench/results/latest.json
	$(RUN) python bench/run_bench.py

bench-http: install services ## The Litestar+asyncpg yardstick, GET /api/v1/todos/{id} direct and via the gateway, a login storm
	$(RUN) python bench/http_bench.py

bench-chat: install services ## A chat turn with the offline engine through the gateway: turns/s, p50, p99
	$(RUN) python bench/chat_bench.py

bench-lists: install services ## GET /api/v1/todos with 100 vs 100,000 todos: pages, deep cursors, search, query plans
	$(RUN) python bench/list_scaling_bench.py

bench-contexts: install services ## A 10,000-task contexts job with one and two workers, against raw aio-pika
	$(RUN) python bench/contexts_bench.py

bench-sse: install services ## 1,000 open event streams on one gateway: memory, change-to-event delay
	$(RUN) python bench/sse_bench.py

bench-reminders: install services ## Reminder lag, remind_at to the event on the stream (BENCH_GATEWAY_URL=http://127.0.0.1:8000: against `make run`)
	$(RUN) python bench/reminder_bench.py

.PHONY: clean
clean: ## Remove the virtualenv and caches (keeps .keys/)
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache
