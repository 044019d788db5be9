"""`make bench`: every benchmark in one run, each figure as a ratio to its yardstick.

Runs the HTTP benchmark (``http_bench.py``: the Litestar + asyncpg yardstick, a todo read
directly and through the gateway, the same during a login storm), the chat turn
(``chat_bench.py``), the context job (``contexts_bench.py``, whose yardstick is aio-pika
alone), the list scaling series (``list_scaling_bench.py``), 1,000 open event streams
(``sse_bench.py``) and reminders coming due (``reminder_bench.py``), then prints one
summary table with the targets and writes every figure to ``bench/results/latest.json``.
Absolute figures move by ±50% between machines of the
same kind, so only ratios measured in the same run are compared with targets.
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import chat_bench
import contexts_bench
import http_bench
import list_scaling_bench
import reminder_bench
import sse_bench
from scratch import machine, write_results


@dataclass
class Row:
    path: str
    figure: str
    ratio: float | None  # to the row's yardstick
    target: str
    holds: bool | None  # None: a yardstick, nothing to hold


def scaling_rows(lists: dict[str, Any]) -> list[Row]:
    """Each list shape of the largest list against the smallest list's first page."""
    small, large = lists["sizes"][0], lists["sizes"][-1]
    rows = []
    for name, by_size in lists["shapes"].items():
        base = by_size.get(small) or lists["shapes"][list_scaling_bench.first_page(name)][small]
        ratio = by_size[large]["p50_ms"] / base["p50_ms"]
        rows.append(
            Row(
                f"GET /api/v1/todos, {name}: {large:,} vs {small:,} todos",
                f"p50 {by_size[large]['p50_ms']:.1f} ms vs {base['p50_ms']:.1f} ms",
                ratio,
                "< 2 (the index's log factor)",
                ratio < 2,
            )
        )
    return rows


def summary(http: dict[str, Any], chat: dict[str, Any], jobs: dict[str, Any]) -> list[Row]:
    yard = http["yardstick"]["requests_per_second"]

    def http_row(path: str, run: dict[str, float], least: float) -> Row:
        ratio = run["requests_per_second"] / yard
        tail = run["p99_ms"] / run["p50_ms"]
        return Row(
            path,
            f"{run['requests_per_second']:,.0f} req/s, p50 {run['p50_ms']:.1f} ms, "
            f"p99 {run['p99_ms']:.1f} ms (p99/p50 {tail:.1f})",
            ratio,
            f">= {least} of the yardstick, p99 <= 4 x p50",
            ratio >= least and tail <= 4,
        )

    turns = chat["result"]
    turn_ratio = turns["turns_per_second"] / yard
    turn_tail = turns["p99_ms"] / turns["p50_ms"]
    raw = jobs["aio_pika_yardstick"]
    raw_rate = min(raw["publish_per_second"], raw["consume_per_second"])
    one, two = jobs["one_worker"], jobs["two_workers"]
    calm, storm = http["todos_via_gateway"], http["todos_via_gateway_during_logins"]
    growth = storm["p99_ms"] / calm["p99_ms"] - 1
    return [
        Row(
            "yardstick: bare Litestar + asyncpg point select",
            f"{yard:,.0f} req/s, p50 {http['yardstick']['p50_ms']:.1f} ms, "
            f"p99 {http['yardstick']['p99_ms']:.1f} ms",
            1.0,
            "",
            None,
        ),
        http_row("todos GET /api/v1/todos/{id} direct", http["todos_direct"], 0.65),
        http_row("the same through the gateway", calm, 0.40),
        Row(
            "chat turn, offline engine, through the gateway, tools over MCP",
            f"{turns['turns_per_second']:.1f} turns/s, p50 {turns['p50_ms']:.1f} ms, "
            f"p99 {turns['p99_ms']:.1f} ms (p99/p50 {turn_tail:.1f})",
            turn_ratio,
            ">= 0.05 of the yardstick, p99 <= 3 x p50",
            turn_ratio >= 0.05 and turn_tail <= 3,
        ),
        Row(
            "aio-pika alone: publish with confirms / consume in batches of 10",
            f"{raw['publish_per_second']:,.0f} / {raw['consume_per_second']:,.0f} msg/s",
            1.0,
            "",
            None,
        ),
        Row(
            f"context job of {jobs['tasks']:,} tasks, 1 worker",
            f"{one['seconds']:.1f} s ({one['tasks_per_second']:,.0f} tasks/s)",
            one["tasks_per_second"] / raw_rate,
            ">= 0.5 of the lower raw rate",
            one["tasks_per_second"] / raw_rate >= 0.5,
        ),
        Row(
            "the same, 2 workers",
            f"{two['seconds']:.1f} s ({two['tasks_per_second']:,.0f} tasks/s)",
            two["tasks_per_second"] / raw_rate,
            "not slower than 1 worker",
            two["seconds"] <= one["seconds"],
        ),
        Row(
            f"GET through the gateway while {http_bench.LOGIN_CLIENTS} clients log in",
            f"p99 {storm['p99_ms']:.1f} ms vs {calm['p99_ms']:.1f} ms "
            f"({growth:+.0%}); logins {http['logins']['requests_per_second']:.1f}/s",
            storm["requests_per_second"] / yard,
            "p99 grows < 50%",
            growth < 0.5,
        ),
    ]


def sse_rows(sse: dict[str, Any]) -> list[Row]:
    """The event stream: what 1,000 open streams cost, and how soon a change is on them."""
    rss, delay = sse["gateway_rss_mib"], sse["delay_every_stream"]
    lost = sse["missed"] + sse["misdelivered"] + sse["duplicates"] + sse["streams_ended_early"]
    return [
        Row(
            f"{sse['connections']:,} open event streams on one gateway process",
            f"RSS {rss['before']:.0f} -> {rss['open']:.0f} MiB "
            f"({sse['kib_per_connection']:.0f} KiB per stream)",
            None,
            "bounded",
            None,
        ),
        Row(
            "a todo change to its event on each of its user's streams",
            f"p50 {delay['p50_ms']:.1f} ms, p99 {delay['p99_ms']:.1f} ms over "
            f"{delay['count']:,} deliveries; missed, misdelivered or doubled: {lost}",
            None,
            "none lost",
            lost == 0,
        ),
    ]


def reminder_rows(reminders: dict[str, Any]) -> list[Row]:
    """Reminders: from each one's time to its event on the owner's stream."""
    lost = reminders["missed"] + reminders["duplicates"] + reminders["foreign"]
    replicas = reminders["todos_replicas"]
    where = f"{replicas} todos replicas" if replicas else "a running stack"
    return [
        Row(
            f"{reminders['reminders']} reminders, {reminders['gap_seconds']} s apart, "
            f"remind_at to the event on the stream ({where})",
            f"p50 {reminders['lag_p50_ms']} ms, p99 {reminders['lag_p99_ms']} ms, "
            f"max {reminders['lag_max_ms']} ms; missed, doubled or misdelivered: {lost}",
            None,
            f"<= {reminder_bench.BOUND:.0f} s, each once",
            lost == 0 and reminders["over_bound"] == 0,
        )
    ]


def cpu_rows(http: dict[str, Any], chat: dict[str, Any], jobs: dict[str, Any]) -> list[Row]:
    """Where the CPU goes: milliseconds of CPU per request, turn or task over the whole box
    (our processes, PostgreSQL, RabbitMQ; not the load generator), that as a multiple of
    its yardstick's, and the most a unit may cost to reach its rate target: every core of
    the machine busy with nothing else, cores / target rate."""
    cores = os.cpu_count() or 1
    yard = http["yardstick"]["requests_per_second"]
    raw = jobs["aio_pika_yardstick"]
    raw_rate = min(raw["publish_per_second"], raw["consume_per_second"])

    def row(
        path: str, cpu: dict[str, float], yardstick: float, target_rate: float | None = None
    ) -> Row:
        parts = ", ".join(f"{name} {ms:.2f}" for name, ms in cpu.items() if name != "total")
        allowed = "" if target_rate is None else f"<= {cores * 1000 / target_rate:.2f} ms"
        return Row(
            path, f"{cpu['total']:.2f} ms ({parts})", cpu["total"] / yardstick, allowed, None
        )

    request = http["yardstick"]["cpu_ms_per_request"]["total"]
    message = raw["cpu_ms_per_message"]["total"]
    return [
        row("yardstick request", http["yardstick"]["cpu_ms_per_request"], request),
        row("todos GET direct", http["todos_direct"]["cpu_ms_per_request"], request, 0.65 * yard),
        row("the same through the gateway", http["todos_via_gateway"]["cpu_ms_per_request"],
            request, 0.40 * yard),
        row("chat turn", chat["result"]["cpu_ms_per_turn"], request, 0.05 * yard),
        row("MCP alone: one tool call listing ten items (the SDK's client and server)",
            chat["mcp_yardstick"]["cpu_ms_per_call"], request),
        row("aio-pika alone: a message published and consumed", raw["cpu_ms_per_message"],
            message),
        row("context task, 1 worker", jobs["one_worker"]["cpu_ms_per_task"], message,
            0.5 * raw_rate),
    ]  # fmt: skip


SUMMARY_COLUMNS = ("path", "figure", "ratio", "target", "holds")
CPU_COLUMNS = ("unit", "CPU", "x its yardstick", "at most, for the rate target")


def print_table(rows: list[Row], title: str, columns: tuple[str, ...] = SUMMARY_COLUMNS) -> None:
    print(f"\n{title}\n")
    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join("---:" if n == 2 else "---" for n in range(len(columns))) + "|")
    for row in rows:
        ratio = "" if row.ratio is None else f"{row.ratio:.3f}"
        holds = "" if row.holds is None else ("yes" if row.holds else "NO")
        cells = (row.path, row.figure, ratio, row.target, holds)[: len(columns)]
        print("| " + " | ".join(cells) + " |")


def main() -> int:
    http = http_bench.main()
    chat = chat_bench.main()
    jobs = contexts_bench.main()
    lists = list_scaling_bench.main()
    sse = sse_bench.main()
    reminders = reminder_bench.main()
    rows = (
        summary(http, chat, jobs) + scaling_rows(lists) + sse_rows(sse) + reminder_rows(reminders)
    )
    cpu = cpu_rows(http, chat, jobs)
    print_table(rows, f"Summary ({machine()})")
    print_table(cpu, "Where the CPU goes (ms of CPU per unit, whole box)", CPU_COLUMNS)
    report = {
        "summary": [asdict(row) for row in rows],
        "cpu": [asdict(row) for row in cpu],
        "http": http,
        "chat": chat,
        "contexts": jobs,
        "lists": lists,
        "event_streams": sse,
        "reminders": reminders,
    }
    write_results("bench", report, latest=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
