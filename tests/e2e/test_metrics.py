"""``/metrics`` of the gateway and todos processes, scraped as Prometheus does.

What an operator relies on: requests counted by route *template* and status (never a raw
path, an id or a user), the latency histogram beside the count, the pool and the outbox
backlog, and bounded labels whatever a client sends.
"""

from __future__ import annotations

import time

import httpx

from tests.support.metrics import label_values, scrape, value
from tests.support.stack import Stack, UserFactory
from tests.support.todos_api import create_todo, get_todo

TODO_ROUTE = "/api/v1/todos/{todo_id}"


def test_todos_counts_a_request_by_route_template_and_status(stack: Stack, api, make_user):
    user = make_user()
    todo = create_todo(api, user)
    before = scrape(stack.todos.url)
    get_todo(api, user, todo["id"])
    missing = api.get("/api/v1/todos/00000000-0000-0000-0000-000000000000", headers=user.headers)
    assert missing.status_code == 404
    after = scrape(stack.todos.url)

    def delta(name: str, status: str) -> float:
        labels = {"method": "GET", "route": TODO_ROUTE, "status": status}
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("http_requests_total", "200") == 1
    assert delta("http_requests_total", "404") == 1
    assert delta("http_request_duration_seconds_count", "200") == 1
    assert delta("http_request_duration_seconds_sum", "200") > 0
    # The ids and the user are in no label, however many requests were made.
    labels = label_values(after)
    assert todo["id"] not in labels
    assert user.id not in labels
    assert not any("00000000-0000" in label for label in labels)


def test_gateway_labels_proxied_and_unknown_routes_without_raw_paths(stack: Stack, make_user):
    user = make_user()
    with httpx.Client(base_url=stack.gateway.url, timeout=10) as client:
        before = scrape(stack.gateway.url)
        todo = create_todo(client, user)
        for path in ("/no/such/page", "/wp-admin/setup.php", "/no/such/page/2"):
            assert client.get(path).status_code == 404
        odd = client.request("FROBNICATE", "/api/v1/todos", headers=user.headers)
        assert odd.status_code in {404, 405}
    after = scrape(stack.gateway.url)

    proxied = {"method": "POST", "route": "/api/v1/todos", "status": "201"}
    assert (
        value(after, "http_requests_total", **proxied)
        - value(before, "http_requests_total", **proxied)
        == 1
    )
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert (
        value(after, "http_requests_total", **unmatched)
        - value(before, "http_requests_total", **unmatched)
        == 3
    )
    assert value(after, "http_requests_total", method="other") >= 1
    labels = label_values(after)
    assert not labels & {"/no/such/page", "/wp-admin/setup.php", "FROBNICATE", todo["id"]}


def test_pool_and_outbox_backlog_are_exported(stack: Stack, api, make_user: UserFactory):
    user = make_user()
    published_before = value(
        scrape(stack.todos.url), "outbox_published_total", outbox="todos.outbox"
    )
    create_todo(api, user)  # one todo.created event through the outbox
    deadline = time.monotonic() + 10
    while True:
        samples = scrape(stack.todos.url)
        published = value(samples, "outbox_published_total", outbox="todos.outbox")
        if published > published_before or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert published > published_before, "the relay published the todo's event"
    backlog = {
        s.name: s.value for s in samples if s.labels.get("outbox") == "todos.outbox"
    }  # read at this scrape: the event is published, so nothing of it waits
    assert backlog["outbox_pending_rows"] == 0, backlog
    assert backlog["outbox_oldest_pending_age_seconds"] == 0, backlog
    size = value(samples, "db_pool_size")
    assert size == 5  # DB_POOL_SIZE of the test services
    in_use = value(samples, "db_pool_connections", state="in_use")
    idle = value(samples, "db_pool_connections", state="idle")
    assert idle >= 1 and in_use + idle <= size


def test_health_and_metrics_need_no_token_on_the_gateway(stack: Stack):
    for path in ("/metrics", "/health/live", "/health/ready"):
        assert httpx.get(stack.gateway.url + path, timeout=10).status_code == 200, path
