"""The example alert rules (deploy/prometheus/alerts.yaml) parse as PromQL and only use
metrics we export."""

from __future__ import annotations

import re

import promql_parser
import yaml
from prometheus_client import REGISTRY

import services.contexts.jobs.metrics  # noqa: F401  (registers the contexts_* gauges)
import shared.metrics  # noqa: F401  (registers the shared metrics)
from shared.settings import REPO_ROOT

RULES = REPO_ROOT / "deploy" / "prometheus" / "alerts.yaml"
OUR_METRIC = re.compile(r"\b((?:http|db|outbox|messages|contexts|llm)_[a-z_]+)")


def exported_names() -> set[str]:
    names: set[str] = set()
    for metric in REGISTRY.collect():
        names.update(sample_name for sample_name in _sample_names(metric.name, metric.type))
    return names


def _sample_names(name: str, kind: str) -> list[str]:
    if kind == "counter":
        return [f"{name}_total"]
    if kind == "histogram":
        return [f"{name}_bucket", f"{name}_count", f"{name}_sum"]
    return [name]


def test_every_rule_is_complete_and_uses_exported_metrics() -> None:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    names = exported_names()
    alerts = {rule["alert"] for rule in rules}
    # The four the operations guide promises, at least.
    assert {"HighErrorRate", "HighLatencyP95", "OutboxLag", "DeadLetters"} <= alerts
    for rule in rules:
        assert rule["labels"]["severity"] in {"page", "warn"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        promql_parser.parse(rule["expr"])  # raises ValueError on a syntax error
        used = set(OUR_METRIC.findall(rule["expr"]))
        assert used, rule["alert"]
        assert used <= names, f"{rule['alert']} uses unknown metrics {used - names}"
