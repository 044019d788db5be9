"""LlmGenerator against a local OpenAI-compatible server, over real HTTP."""

from __future__ import annotations

import json

import openai
import pytest

from services.contexts.generation.context_template import render_context
from services.contexts.generation.generators import LlmGenerator
from services.contexts.generation.planned_task import (
    Excerpt,
    HttpSpec,
    Parameter,
    PlannedTask,
    TaskLink,
)
from services.contexts.generation.verification import verify_context
from tests.support.openai_server import (
    OpenAIServer,
    delayed,
    error_reply,
    scripted,
    text_reply,
    tool_call_reply,
)

TASK = PlannedTask(
    task_id="backend_task_124",
    function_name="completeTodo",
    kind="endpoint",
    context_file=".claude_tasks/contexts/backend_task_124_context.md",
    description="HTTP handler: POST /api/v1/todos/{todo_id}/complete",
    module="todos",
    layer="api",
    parameters=[Parameter(name="todo_id", type="UUID", validation="uuid")],
    http=HttpSpec(method="POST", route="/api/v1/todos/{todo_id}/complete", status_codes=[200, 404]),
    implementation_file="src/api/todos/complete_todo.py",
    test_file="tests/api/todos/test_complete_todo.py",
    spec_refs=["docs/prd.md#todo-management"],
    excerpts=[
        Excerpt(
            source="docs/prd.md#todo-management",
            heading="Todo Management",
            text="## Todo Management\n- Completing sets completed_at.",
        )
    ],
    depends_on=[
        TaskLink(
            task_id="backend_task_127", function_name="markTodoComplete", kind="service", summary=""
        )
    ],
)


def client_for(server: OpenAIServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=server.base_url, api_key="test-key", max_retries=0, timeout=5
    )


async def test_a_good_answer_passes_verification() -> None:
    answer = "```markdown\n" + render_context(TASK) + "```"  # fenced, as models like to do
    with OpenAIServer(scripted(text_reply(answer))) as server:
        markdown = await LlmGenerator(client_for(server), "ctx-model").generate(TASK)

    assert verify_context(markdown, TASK) == []
    assert markdown.startswith("# Task backend_task_124: completeTodo")
    (request,) = server.requests
    assert request["model"] == "ctx-model"
    system, user = request["messages"]
    assert system["role"] == "system" and "placeholders" in system["content"]
    # the task, its dependencies, its excerpts and the headings are all sent
    assert "# Task backend_task_124: completeTodo" in user["content"]
    assert "### Indexes Required" in user["content"]
    sent = json.loads(user["content"].split("documents):\n", 1)[1])
    assert sent["http"]["route"] == "/api/v1/todos/{todo_id}/complete"
    assert sent["depends_on"][0]["function_name"] == "markTodoComplete"
    assert sent["excerpts"][0]["text"].endswith("Completing sets completed_at.")


async def test_an_incomplete_answer_is_returned_and_fails_verification() -> None:
    full = render_context(TASK)
    incomplete = full.split("## Security Considerations")[0] + "**Purpose**: {Brief description}\n"
    with OpenAIServer(scripted(text_reply(incomplete))) as server:
        markdown = await LlmGenerator(client_for(server), "ctx-model").generate(TASK)

    problems = verify_context(markdown, TASK)
    assert problems[0].startswith("missing sections: Security Considerations, Authentication")
    assert "Tasks Depending on This" in problems[0]
    assert problems[1] == "template placeholders left: {Brief description}"


async def test_an_http_error_surfaces_as_an_openai_exception() -> None:
    with (
        OpenAIServer(scripted(error_reply(503, "overloaded"))) as server,
        pytest.raises(openai.InternalServerError) as caught,
    ):
        await LlmGenerator(client_for(server), "ctx-model").generate(TASK)
    assert caught.value.status_code == 503
    assert "overloaded" in str(caught.value)


async def test_a_slow_model_times_out() -> None:
    with OpenAIServer(scripted(delayed(3, text_reply("late")))) as server:
        client = openai.AsyncOpenAI(
            base_url=server.base_url, api_key="test-key", max_retries=0, timeout=0.3
        )
        with pytest.raises(openai.APITimeoutError):
            await LlmGenerator(client, "ctx-model").generate(TASK)


async def test_the_fake_server_speaks_tool_calls_and_streams() -> None:
    """The test server's other answers, which the chat tests rely on."""
    handler = scripted(
        tool_call_reply([("add_task", {"title": "Buy milk"}), ("list_tasks", "{not json")]),
        text_reply("Added."),
    )
    with OpenAIServer(handler) as server:
        client = client_for(server)
        first = await client.chat.completions.create(model="m", messages=[])
        stream = await client.chat.completions.create(
            model="m", messages=[], stream=True, stream_options={"include_usage": True}
        )
        chunks = [chunk async for chunk in stream]
        repeated = await client.chat.completions.create(model="m", messages=[])

    calls = first.choices[0].message.tool_calls or []
    assert first.choices[0].finish_reason == "tool_calls"
    assert [(c.function.name, c.function.arguments) for c in calls] == [  # type: ignore[union-attr]
        ("add_task", '{"title": "Buy milk"}'),
        ("list_tasks", "{not json"),
    ]
    assert first.usage is not None and first.usage.total_tokens > 0
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Added." and chunks[-1].usage is not None
    assert repeated.choices[0].message.content == "Added."  # the last reply repeats
    assert len(server.requests) == 3 and server.requests[1]["stream"] is True
