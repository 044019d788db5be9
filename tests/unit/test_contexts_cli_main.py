"""The contexts CLI's arguments, exit codes and messages when it cannot even start a job,
and the parsing of the progress stream."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from contexts_cli.gateway_client import SseParser, describe_error
from contexts_cli.main import _exit_code, main, parser
from tests.support.processes import free_port
from tests.support.samples import SAMPLES


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    target = tmp_path / "project"
    shutil.copytree(SAMPLES / "flat", target)
    return target


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTEXTS_GATEWAY_URL", "http://gateway.example:8000")
    monkeypatch.setenv("CONTEXTS_EMAIL", "ada@example.com")
    monkeypatch.setenv("CONTEXTS_PASSWORD", "secret")
    monkeypatch.setenv("CONTEXTS_AMQP_URL", "amqp://u:p@broker/vh")

    arguments = parser().parse_args(["generate", "proj"])

    assert arguments.gateway_url == "http://gateway.example:8000"
    assert (arguments.email, arguments.password) == ("ada@example.com", "secret")
    assert arguments.amqp_url == "amqp://u:p@broker/vh"
    assert (arguments.via, arguments.generator, arguments.regenerate) == ("http", "template", False)


def test_without_credentials_the_exit_code_is_2(
    project_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CONTEXTS_EMAIL", "CONTEXTS_PASSWORD", "CONTEXTS_TOKEN"):
        monkeypatch.delenv(name, raising=False)

    assert main(["generate", str(project_dir)]) == 2
    assert "credentials needed" in capsys.readouterr().err


def test_a_project_without_registry_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["generate", str(tmp_path), "--token", "t"]) == 2
    assert "no task registry" in capsys.readouterr().err


def test_an_unreachable_gateway_exits_2_and_says_where(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    assert main(["generate", str(project_dir), "--gateway-url", url, "--token", "t"]) == 2
    assert f"cannot reach the gateway at {url}" in capsys.readouterr().err


def test_an_unknown_option_value_is_a_usage_error(project_dir: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["generate", str(project_dir), "--generator", "magic"])
    assert exited.value.code == 2


def test_server_sent_events_are_parsed_across_lines() -> None:
    stream = [
        ": heartbeat",
        "event: progress",
        "id: 7",
        'data: {"done": 3,',
        'data:  "failed": 0}',
        "",
        "",
        "data: plain",
        "",
    ]
    sse = SseParser()

    events = [event for line in stream if (event := sse.feed(line)) is not None]

    assert [(e.event, e.data, e.id) for e in events] == [
        ("progress", '{"done": 3,\n "failed": 0}', "7"),
        ("message", "plain", "7"),
    ]


def test_an_error_answer_is_described_with_its_place() -> None:
    body = {
        "error": {
            "code": "VALIDATION_ERROR",
            "message": "tasks[3].id: duplicate task id",
            "details": {"where": "tasks[3].id"},
        }
    }

    text = describe_error(httpx.Response(400, json=body))

    assert text == "400 VALIDATION_ERROR: tasks[3].id: duplicate task id (at tasks[3].id)"
    assert "try --via amqp" in describe_error(httpx.Response(413, json={"error": {
        "code": "PAYLOAD_TOO_LARGE", "message": "Request body too large"}}))  # fmt: skip
    assert describe_error(httpx.Response(502, text="<html>")) == "HTTP 502 Bad Gateway"


def test_an_unreachable_broker_exits_2_and_hides_the_password(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"amqp://guest:s3cret@127.0.0.1:{free_port()}/todo_platform"

    code = main(["generate", str(project_dir), "--via", "amqp", "--amqp-url", url, "--token", "t"])

    assert code == 2
    err = capsys.readouterr().err
    assert "cannot connect to the broker at amqp://guest@127.0.0.1:" in err
    assert "s3cret" not in err


class Terminal:
    """Standard input that is a terminal (the password prompt only asks on one)."""

    def isatty(self) -> bool:
        return True


def test_without_a_password_it_is_asked_for_not_taken_from_the_command_line(
    project_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CONTEXTS_PASSWORD", "CONTEXTS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    asked: list[str] = []
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or "secret")
    url = f"http://127.0.0.1:{free_port()}"  # the login then fails to connect

    code = main(["generate", str(project_dir), "--email", "ada@example.com", "--gateway-url", url])

    assert asked == ["password for ada@example.com: "]
    assert code == 2 and "credentials needed" not in capsys.readouterr().err


def test_after_failures_the_retry_endpoint_is_named() -> None:
    console = Console(record=True, width=200)

    code = _exit_code({"job_id": "j1", "status": "completed_with_errors", "failed": 2}, console)

    assert code == 1
    assert "POST /api/v1/contexts/jobs/j1/retry" in console.export_text()


PERSONAL_TOKEN = "tdp_" + "a" * 43


def test_a_personal_token_comes_from_the_option_or_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONTEXTS_TOKEN", PERSONAL_TOKEN)
    assert parser().parse_args(["generate", "proj"]).token == PERSONAL_TOKEN
    given = parser().parse_args(["generate", "proj", "--token", "tdp_other"])
    assert given.token == "tdp_other"

    with pytest.raises(SystemExit):
        parser().parse_args(["generate", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "personal access token (tdp_..." in help_text and "CONTEXTS_TOKEN" in help_text


def test_a_personal_token_cannot_go_through_the_broker(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"amqp://guest:guest@127.0.0.1:{free_port()}/todo_platform"  # never reached

    code = main(
        ["generate", str(project_dir), "--via", "amqp", "--amqp-url", url,
         "--token", PERSONAL_TOKEN]
    )  # fmt: skip

    assert code == 2
    err = capsys.readouterr().err
    assert "--via amqp needs an access token" in err and "cannot connect" not in err


def test_a_token_without_the_scope_is_told_so() -> None:
    body = {"error": {"code": "INSUFFICIENT_SCOPE", "message": "This token lacks: contexts"}}

    text = describe_error(httpx.Response(403, json=body))

    assert text.endswith("- the personal access token needs the contexts scope")
