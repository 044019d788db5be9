"""The container image, its launcher and the compose file: what a deployment relies on.

The Dockerfile, .dockerignore and compose.yaml are read as text (building the image needs a
Docker engine); the launcher, deploy/serve.sh, is run for real (what it does against
PostgreSQL and RabbitMQ is in tests/integration/test_deploy_launcher.py).
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.settings import REPO_ROOT
from tests.support.launcher import SERVE, launcher_env

DEPLOY = REPO_ROOT / "deploy"
IMAGE = "todo-platform:dev"


# --- the launcher's processes, read from its case arms --------------------------------------


def launcher_web_processes() -> dict[str, int]:
    """Web process -> default port, as deploy/serve.sh defines them."""
    text = SERVE.read_text()
    arms = re.findall(r"^\s+([a-z][a-z-]*)\)\s+module=[^;\n]+[;\n]\s*port=(\d+)", text, re.M)
    return {name: int(port) for name, port in arms}


def launcher_commands() -> set[str]:
    """The one-shot commands of deploy/serve.sh."""
    return set(re.findall(r"^\s+([a-z][a-z-]*)\) exec python", SERVE.read_text(), re.M))


def test_launcher_knows_the_contract_processes() -> None:
    assert launcher_web_processes() == {
        "gateway": 8000,
        "todos": 8001,
        "chat": 8002,
        "contexts": 8003,
        "contexts-worker": 8013,
    }
    assert launcher_commands() == {"migrate", "wait-for-migrations", "dev-keys"}


# --- Dockerfile -------------------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    arguments: str


def dockerfile_stages() -> list[list[Instruction]]:
    """Instructions per stage (continuations joined, comments dropped)."""
    logical: list[str] = []
    pending = ""
    for raw in (DEPLOY / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[list[Instruction]] = []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        instruction = Instruction(keyword.upper(), arguments.strip())
        if instruction.keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def test_dockerfile_builds_in_stages_and_runs_slim() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2
    final = stages[-1]
    assert final[0].arguments.startswith("${PYTHON_IMAGE}")
    copies = [i.arguments for i in final if i.keyword == "COPY"]
    # Only the built /app reaches the runtime: no uv, no build cache.
    assert copies == ["--from=builder /app /app"]
    assert not any(i.keyword == "RUN" and "apt-get" in i.arguments for i in final)


def test_dockerfile_pins_uv_to_the_makefile_version() -> None:
    uv_version = re.search(r"^UV_VERSION := (\S+)", (REPO_ROOT / "Makefile").read_text(), re.M)
    assert uv_version
    sources = [stage[0].arguments for stage in dockerfile_stages()]
    assert f"ghcr.io/astral-sh/uv:{uv_version.group(1)} AS uv" in sources


def test_dockerfile_installs_locked_dependencies_before_the_source() -> None:
    builder = next(s for s in dockerfile_stages() if s[0].arguments.endswith("AS builder"))
    steps = [f"{i.keyword} {i.arguments}" for i in builder]

    def first(fragment: str) -> int:
        return next(n for n, step in enumerate(steps) if fragment in step)

    lock = first("COPY pyproject.toml uv.lock")
    dependencies = first("uv sync --frozen --no-dev --no-install-project")
    source = first("COPY shared")
    project = next(
        n
        for n, step in enumerate(steps)
        if "uv sync --frozen --no-dev" in step and "--no-install-project" not in step
    )
    assert lock < dependencies < source < project
    assert "--mount=type=cache" in steps[dependencies]
    env = " ".join(i.arguments for i in builder if i.keyword == "ENV")
    assert "UV_COMPILE_BYTECODE=1" in env
    assert "UV_LINK_MODE=copy" in env


def test_dockerfile_runs_the_launcher_as_a_numeric_non_root_user() -> None:
    final = dockerfile_stages()[-1]
    by_keyword: dict[str, list[str]] = {}
    for instruction in final:
        by_keyword.setdefault(instruction.keyword, []).append(instruction.arguments)
    user = by_keyword["USER"][-1]
    assert re.fullmatch(r"[1-9]\d*:[1-9]\d*", user), user
    assert "HEALTHCHECK" not in by_keyword  # the orchestrator probes /health/* itself
    assert by_keyword["WORKDIR"] == ["/app"]
    assert by_keyword["ENTRYPOINT"] == ['["/app/deploy/serve.sh"]']
    assert by_keyword["CMD"] == ['["gateway"]']
    env = " ".join(by_keyword["ENV"])
    for setting in ("PATH=/app/.venv/bin:$PATH", "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"):
        assert setting in env
    exposed = " ".join(by_keyword["EXPOSE"]).split()
    assert exposed == ["8000-8003", "8013"]
    assert any("org.opencontainers.image.title" in label for label in by_keyword["LABEL"])


# --- .dockerignore ----------------------------------------------------------------------------


def dockerignore_patterns() -> list[str]:
    lines = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for pattern in dockerignore_patterns():
        negated = pattern.startswith("!")
        body = pattern.lstrip("!")
        candidates = [body, body.removeprefix("**/")]
        if any(fnmatch.fnmatchcase(p, c) for p in prefixes for c in candidates):
            verdict = not negated
    return verdict


def test_dockerignore_keeps_secrets_and_bulk_out_but_not_what_the_image_copies() -> None:
    for path in (".git", ".venv", ".keys", ".keys/jwt_private.pem", "tests", "docs", "bench"):
        assert ignored(path), path
    for path in ("services/todos/__pycache__/app.cpython-311.pyc",):
        assert ignored(path), path
    copied = [
        source
        for stage in dockerfile_stages()
        for i in stage
        if i.keyword == "COPY" and not i.arguments.startswith("--from")
        for source in i.arguments.split()[:-1]
    ]
    assert "deploy/serve.sh" in copied
    for source in copied:
        assert (REPO_ROOT / source).exists(), source
        assert not ignored(source), source


# --- compose.yaml -----------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def app_services() -> dict[str, dict[str, Any]]:
    """Compose services that run a web process of the image."""
    web = launcher_web_processes()
    return {
        name: service
        for name, service in compose()["services"].items()
        if service.get("image") == IMAGE and service["command"][0] in web
    }


def test_compose_runs_every_web_process_of_the_launcher() -> None:
    services = app_services()
    assert set(services) == set(launcher_web_processes())
    for name, service in services.items():
        assert service["command"] == [name]
    one_shots = {
        name: service["command"][0]
        for name, service in compose()["services"].items()
        if service.get("image") == IMAGE and name not in services
    }
    assert one_shots == {"keys": "dev-keys", "migrate": "migrate"}
    assert set(one_shots.values()) <= launcher_commands()


def test_compose_builds_the_image_once_for_all_processes() -> None:
    services = compose()["services"]
    users = {name for name, service in services.items() if service.get("image") == IMAGE}
    assert users >= {"keys", "migrate", *app_services()}
    builds = [service["build"] for service in services.values() if "build" in service]
    # One build (a build per service would build the same tag several times at once); the
    # others never pull an image that exists only where it was built.
    assert builds == [{"context": "..", "dockerfile": "deploy/Dockerfile"}]
    assert all(services[name]["pull_policy"] == "never" for name in users)


def test_compose_starts_processes_after_migrations_and_keys() -> None:
    services = compose()["services"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name, service in app_services().items():
        depends = service["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["keys"]["condition"] == "service_completed_successfully", name
    gateway = services["gateway"]["depends_on"]
    for upstream in ("todos", "chat", "contexts", "redis"):
        assert gateway[upstream]["condition"] == "service_healthy"


def test_compose_checks_health_everywhere() -> None:
    services = compose()["services"]
    for name in ("postgres", "rabbitmq", "redis"):
        assert services[name]["healthcheck"]["test"], name
    ports = launcher_web_processes()
    for name, service in app_services().items():
        test = " ".join(service["healthcheck"]["test"])
        assert "/health/ready" in test, name
        assert service["environment"]["PORT"] == str(ports[name]), name


def test_compose_publishes_only_the_gateway_and_the_broker_ui_on_loopback() -> None:
    published = {name: s["ports"] for name, s in compose()["services"].items() if s.get("ports")}
    assert published == {"gateway": ["8000:8000"], "rabbitmq": ["127.0.0.1:15672:15672"]}


def test_compose_processes_run_like_in_kubernetes() -> None:
    for name, service in app_services().items():
        assert service["read_only"] is True, name
        assert "/tmp" in service["tmpfs"], name
        assert service["environment"]["ENVIRONMENT"] == "development", name
        assert service["environment"]["SERVICE_NAME"] == name


# --- the launcher, run ------------------------------------------------------------------------


@pytest.mark.parametrize("args", [[], ["nonsense"], ["gateway", "extra"]])
def test_launcher_refuses_an_unknown_process(args: list[str]) -> None:
    result = subprocess.run(
        [str(SERVE), *args], env=launcher_env(), capture_output=True, text=True, timeout=10
    )
    assert result.returncode == 2
    assert result.stderr.startswith("usage: serve.sh PROCESS")
    assert "contexts-worker" in result.stderr


@pytest.fixture
def recording_granian(tmp_path: Path) -> Path:
    """A `granian` that prints its arguments: what the launcher would run."""
    folder = tmp_path / "bin"
    folder.mkdir()
    fake = folder / "granian"
    fake.write_text('#!/bin/sh\necho "$@"\n')
    fake.chmod(0o755)
    return folder


def launch_with(granian_dir: Path, process: str, **extra: str) -> str:
    env = {"PATH": f"{granian_dir}{os.pathsep}/usr/bin{os.pathsep}/bin", **extra}
    result = subprocess.run(
        [str(SERVE), process], env=env, capture_output=True, text=True, timeout=10
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_launcher_defaults(recording_granian: Path) -> None:
    assert launch_with(recording_granian, "gateway") == (
        "--interface asgi --factory --host 0.0.0.0 --port 8000 --loop uvloop "
        "--workers-kill-timeout 20 --log-config deploy/granian-logging.json "
        "services.gateway.app:create_app"
    )


def test_launcher_takes_host_port_and_grace_from_the_environment(
    recording_granian: Path,
) -> None:
    args = launch_with(
        recording_granian, "todos", HOST="127.0.0.1", PORT="9001", SHUTDOWN_GRACE_SECONDS="5"
    )
    assert "--host 127.0.0.1 --port 9001 " in args
    assert "--workers-kill-timeout 5 " in args
    assert args.endswith("services.todos.app:create_app")


def test_launcher_gives_the_worker_time_to_finish_its_batch(recording_granian: Path) -> None:
    # granian must not kill the worker before its own stop grace has passed.
    assert "--workers-kill-timeout 100 " in launch_with(recording_granian, "contexts-worker")
    args = launch_with(recording_granian, "contexts-worker", WORKER_STOP_GRACE_SECONDS="45.5")
    assert "--workers-kill-timeout 55 " in args
    assert "--port 8013 " in args


def test_launcher_says_where_granian_is_missing() -> None:
    result = subprocess.run(
        [str(SERVE), "chat"],
        env={"PATH": f"/usr/bin{os.pathsep}/bin"},
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 127
    assert "granian is not on PATH" in result.stderr
