"""The Kubernetes overlays: they validate, and the rendered objects behave as documented.

Everything is rendered offline with `kubectl kustomize`; no cluster is involved.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.settings import REPO_ROOT

K8S_DIR = REPO_ROOT / "deploy" / "k8s"
VALIDATOR = REPO_ROOT / "scripts" / "k8s_validate.py"
APPS = ("gateway", "todos", "chat", "contexts", "contexts-worker")
NAME = "app.kubernetes.io/name"

# `labels`, `components` and targeted patches need the kustomize 5 that kubectl >= 1.27 bundles.
MIN_KUSTOMIZE_MAJOR = 5
NEEDS_KUBECTL = (
    "these tests need kubectl >= 1.27 on the PATH (it renders the overlays with its bundled "
    "kustomize >= v5; no cluster is used): https://kubernetes.io/docs/tasks/tools/"
)


def kubectl_problem() -> str | None:
    """Why the kubectl on the PATH cannot render the overlays (None: it can)."""
    if shutil.which("kubectl") is None:
        return "kubectl is not installed"
    out = subprocess.run(
        ["kubectl", "version", "--client", "-o", "json"], capture_output=True, text=True
    )
    try:
        kustomize = str(json.loads(out.stdout or "{}").get("kustomizeVersion", ""))
    except json.JSONDecodeError:
        kustomize = ""
    major = re.match(r"v?(\d+)", kustomize)
    if major is None or int(major.group(1)) < MIN_KUSTOMIZE_MAJOR:
        return f"kubectl bundles kustomize {kustomize or '(unknown)'}, too old"
    return None


@pytest.fixture(scope="module", autouse=True)
def kubectl_available() -> None:
    """A missing or old kubectl fails every test here (never skips them)."""
    problem = kubectl_problem()
    if problem is not None:
        pytest.fail(f"{problem}: {NEEDS_KUBECTL}", pytrace=False)


Obj = dict[str, Any]
Rendered = tuple[str, list[Obj]]  # (overlay name, its objects)


def render(overlay: Path) -> list[Obj]:
    out = subprocess.run(
        ["kubectl", "kustomize", str(overlay)], capture_output=True, text=True, check=True
    )
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


@pytest.fixture(scope="module", params=["dev", "prod"])
def overlay(request: pytest.FixtureRequest) -> Rendered:
    return request.param, render(K8S_DIR / "overlays" / request.param)


def of_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind]


def deployment(objects: list[Obj], name: str) -> Obj:
    return next(o for o in of_kind(objects, "Deployment") if o["metadata"]["name"] == name)


def pod_labels(objects: list[Obj]) -> dict[str, dict[str, str]]:
    """Pod labels per workload name (Deployments, StatefulSets and the Job)."""
    kinds = ("Deployment", "StatefulSet", "Job")
    return {
        o["metadata"]["name"]: o["spec"]["template"]["metadata"]["labels"]
        for o in objects
        if o["kind"] in kinds
    }


def selects(selector: Obj, labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        present = labels.get(expr["key"])
        held = {
            "In": present in expr.get("values", []),
            "NotIn": present not in expr.get("values", []),
            "Exists": expr["key"] in labels,
            "DoesNotExist": expr["key"] not in labels,
        }[expr["operator"]]
        if not held:
            return False
    return True


def admitted(
    policies: list[Obj],
    source: tuple[dict[str, str], dict[str, str]],
    target: dict[str, str],
    port: str,
) -> bool:
    """NetworkPolicy semantics for ingress: may a pod (namespace labels, pod labels) reach
    the target pod (same namespace as the policies) on the named port?"""
    source_ns, source_pod = source
    isolating = [
        p
        for p in policies
        if "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
        and selects(p["spec"]["podSelector"], target)
    ]
    if not isolating:
        return True
    for policy in isolating:
        for rule in policy["spec"].get("ingress", []):
            ports = rule.get("ports")
            if ports and not any(p.get("port") == port for p in ports):
                continue
            if "from" not in rule:  # no `from`: every source, in every namespace
                return True
            for peer in rule["from"]:
                ns_ok = (
                    selects(peer["namespaceSelector"], source_ns)
                    if "namespaceSelector" in peer
                    else source_ns.get("kubernetes.io/metadata.name")
                    == policy["metadata"]["namespace"]
                )
                pod_ok = selects(peer.get("podSelector", {}), source_pod)
                if ns_ok and pod_ok:
                    return True
    return False


def run_validator(*overlays: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(VALIDATOR), *map(str, overlays)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )


def test_every_overlay_validates_as_make_k8s_validate_runs_it() -> None:
    done = run_validator()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "dev: " in done.stdout and "prod: " in done.stdout


def test_the_worker_has_no_service_and_every_other_process_has_one(overlay: Rendered) -> None:
    _, objects = overlay
    labels = pod_labels(objects)
    served = {
        name
        for svc in of_kind(objects, "Service")
        for name in APPS
        if selects({"matchLabels": svc["spec"]["selector"]}, labels[name])
    }
    assert served == {"gateway", "todos", "chat", "contexts"}


def test_every_process_waits_for_migrations_and_has_its_probes(overlay: Rendered) -> None:
    _, objects = overlay
    for name in APPS:
        pod = deployment(objects, name)["spec"]["template"]["spec"]
        main = pod["containers"][0]
        assert [c["args"] for c in pod["initContainers"]] == [["wait-for-migrations"]]
        assert pod["initContainers"][0]["image"] == main["image"]
        assert main["startupProbe"]["httpGet"]["path"] == "/health/live"
        assert main["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert main["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    job = of_kind(objects, "Job")[0]
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]


def test_shutdown_fits_in_the_termination_grace_period(overlay: Rendered) -> None:
    _, objects = overlay
    for name in APPS:
        pod = deployment(objects, name)["spec"]["template"]["spec"]
        env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
        pre_stop = pod["containers"][0].get("lifecycle", {}).get("preStop")
        if name == "contexts-worker":
            assert pre_stop is None and "SHUTDOWN_GRACE_SECONDS" not in env
            needed = int(env["WORKER_STOP_GRACE_SECONDS"]) + 10  # serve.sh adds 10 s for granian
        else:
            assert pre_stop["exec"]["command"] == ["sleep", "5"]
            needed = 5 + int(env["SHUTDOWN_GRACE_SECONDS"])
        assert needed < pod["terminationGracePeriodSeconds"], name


def test_only_the_gateway_holds_the_private_key(overlay: Rendered) -> None:
    _, objects = overlay
    for name in APPS:
        volumes = deployment(objects, name)["spec"]["template"]["spec"]["volumes"]
        jwt = next(
            v["secret"]
            for v in volumes
            if v.get("secret", {}).get("secretName") == "todo-platform-jwt"
        )
        files = {item["path"] for item in jwt["items"]}
        expected = {"jwt_public.pem"} | ({"jwt_private.pem"} if name == "gateway" else set())
        assert files == expected, name


def test_only_the_gateway_is_behind_the_ingress(overlay: Rendered) -> None:
    _, objects = overlay
    labels = pod_labels(objects)
    services = {s["metadata"]["name"]: s for s in of_kind(objects, "Service")}
    (ingress,) = of_kind(objects, "Ingress")
    reached = set()
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            selector = services[path["backend"]["service"]["name"]]["spec"]["selector"]
            reached |= {n for n, lab in labels.items() if selects({"matchLabels": selector}, lab)}
            assert path["path"] in (
                "/api",
                "/schema",
                "/mcp",
                "/.well-known/oauth-protected-resource",
            )
    assert reached == {"gateway"}


def test_network_policies_allow_exactly_the_documented_paths(overlay: Rendered) -> None:
    name, objects = overlay
    namespace = "todo-platform-dev" if name == "dev" else "todo-platform"
    policies = of_kind(objects, "NetworkPolicy")
    labels = pod_labels(objects)
    own = {"kubernetes.io/metadata.name": namespace}
    sources = {n: (own, lab) for n, lab in labels.items()}
    for outside in ("ingress-nginx", "monitoring", "elsewhere"):
        sources[outside] = ({"kubernetes.io/metadata.name": outside}, {NAME: "anything"})
    expected = {
        "gateway": {"ingress-nginx", "monitoring"},
        "todos": {"gateway", "chat", "monitoring"},
        "chat": {"gateway", "monitoring"},
        "contexts": {"gateway", "monitoring"},
        "contexts-worker": {"monitoring"},
    }
    for target, allowed in expected.items():
        reach = {s for s, src in sources.items() if admitted(policies, src, labels[target], "http")}
        assert reach == allowed, target
    if name != "dev":
        return  # production data services live in another namespace, under their own policies
    ours = {n for n in labels if labels[n].get("app.kubernetes.io/part-of") == "todo-platform"}
    for data, port in (("postgres", "postgres"), ("rabbitmq", "amqp"), ("redis", "redis")):
        reach = {s for s, src in sources.items() if admitted(policies, src, labels[data], port)}
        assert reach == ours, data


def test_prod_runs_in_production_mode_without_the_dev_data_services() -> None:
    objects = render(K8S_DIR / "overlays" / "prod")
    config = of_kind(objects, "ConfigMap")[0]["data"]
    assert config["ENVIRONMENT"] == "production"
    assert not of_kind(objects, "StatefulSet")
    (scaled,) = of_kind(objects, "ScaledObject")
    trigger = scaled["spec"]["triggers"][0]
    assert trigger["metadata"]["queueName"] == "contexts.generate"
    assert scaled["spec"]["scaleTargetRef"]["name"] == "contexts-worker"
    assert of_kind(objects, "Ingress")[0]["spec"]["tls"]
    assert all(h["spec"]["minReplicas"] >= 2 for h in of_kind(objects, "HorizontalPodAutoscaler"))


def test_dev_brings_its_own_data_services_and_no_keda() -> None:
    objects = render(K8S_DIR / "overlays" / "dev")
    assert {s["metadata"]["name"] for s in of_kind(objects, "StatefulSet")} == {
        "postgres",
        "rabbitmq",
    }
    assert of_kind(objects, "ConfigMap")[0]["data"]["ENVIRONMENT"] == "development"
    assert not of_kind(objects, "ScaledObject")


def test_no_secret_values_are_rendered(overlay: Rendered) -> None:
    _, objects = overlay
    assert not [s for s in of_kind(objects, "Secret") if s.get("data") or s.get("stringData")]


SECRET = "kind: Secret\nmetadata: {name: leaked}\nstringData: {database-url: postgresql://x}\n"
MONITOR = "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: gateway}\n"
PDB_SELECTOR = "  selector:\n    matchLabels: {app.kubernetes.io/name: redis}\n"
# name: (overlay, file under deploy/k8s, text, its replacement, the validator's message).
# A file that does not exist yet is added to the dev overlay's resources.
BREAKAGES = {
    "probe port typo": (
        "dev",
        "base/todos.yaml",
        "/health/ready, port: http}",
        "/health/ready, port: htpp}",
        "readinessProbe port 'htpp' is not a port of the container",
    ),
    "deployment without selector": (
        "dev",
        "base/chat.yaml",
        "  selector:\n    matchLabels:\n      app.kubernetes.io/name: chat\n",
        "",
        "'selector' is a required property",
    ),
    "misspelt field": (
        "dev",
        "base/contexts.yaml",
        "readOnlyRootFilesystem",
        "readOnlyRootFileSystem",
        "'readOnlyRootFileSystem' was unexpected",
    ),
    "secret with values": (
        "dev",
        "overlays/dev/leak.yaml",
        "",
        "apiVersion: v1\n" + SECRET,
        "Secret/leaked: carries values",
    ),
    "unknown kind": (
        "dev",
        "overlays/dev/monitor.yaml",
        "",
        MONITOR,
        "unknown kind ServiceMonitor",
    ),
    "keda value not a string": (
        "prod",
        "components/keda-worker/scaled-object.yaml",
        'value: "50"',
        "value: 50",
        "50 is not of type 'string'",
    ),
    "deployment without disruption budget": (
        "dev",
        "overlays/dev/redis.yaml",
        PDB_SELECTOR,
        PDB_SELECTOR.replace("redis", "valkey"),
        "Deployment/redis: no PodDisruptionBudget selects its pods",
    ),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_a_broken_overlay_fails_validation(breakage: str, tmp_path: Path) -> None:
    overlay, name, old, new, message = BREAKAGES[breakage]
    root = tmp_path / "k8s"
    shutil.copytree(K8S_DIR, root)
    path = root / name
    if path.exists():
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))
    else:
        path.write_text(new)
        dev = root / "overlays" / "dev" / "kustomization.yaml"
        dev.write_text(
            dev.read_text().replace("  - redis.yaml\n", f"  - redis.yaml\n  - {path.name}\n")
        )
    done = run_validator(root / "overlays" / overlay)
    assert done.returncode == 1, done.stdout + done.stderr
    assert message in done.stdout


@pytest.mark.parametrize(
    ("components", "valid"),
    [
        (["worker-cpu-hpa"], True),
        (["keda-worker"], True),
        (["keda-worker", "worker-cpu-hpa"], False),
    ],
)
def test_the_worker_autoscaling_components_are_alternatives(
    components: list[str], valid: bool, tmp_path: Path
) -> None:
    root = tmp_path / "k8s"
    shutil.copytree(K8S_DIR, root)
    dev = root / "overlays" / "dev" / "kustomization.yaml"
    listed = "".join(f"\n  - ../../components/{c}" for c in components)
    dev.write_text(dev.read_text().replace("components: []", f"components:{listed}"))
    done = run_validator(root / "overlays" / "dev")
    assert done.returncode == (0 if valid else 1), done.stdout + done.stderr
    if not valid:
        assert "Deployment/contexts-worker is also scaled by" in done.stdout


def test_without_kubectl_the_validator_says_how_to_install_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(VALIDATOR)],
        capture_output=True,
        text=True,
        env={"PATH": str(tmp_path)},
    )
    assert done.returncode == 2
    assert "apt-get install kubernetes-client" in done.stderr
