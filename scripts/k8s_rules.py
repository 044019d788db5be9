"""The platform's own rules for rendered manifests (scripts/k8s_validate.py runs them).

Beyond what the Kubernetes schemas say: every long-running container has probes, resources
and the restricted security context; every Deployment a PodDisruptionBudget and the
migration wait; Services, Ingresses, NetworkPolicies and scalers point at objects that exist
(and ports that are declared); no Secret carries values; production uses no `latest` image,
runs with ENVIRONMENT=production and serves TLS.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

APP_IMAGE = "todo-platform"
WORKLOADS = ("Deployment", "StatefulSet", "Job")

Obj = dict[str, Any]


def ref(obj: Obj) -> str:
    return f"{obj.get('kind', '?')}/{obj.get('metadata', {}).get('name', '?')}"


def selects(selector: Obj | None, labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels/matchExpressions, or a plain map) matches labels."""
    if not selector:
        return selector == {}  # an empty selector selects everything; a missing one nothing
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        selector = {"matchLabels": selector}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        held = {
            "In": labels.get(key) in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not held:
            return False
    return True


def pod_templates(objects: list[Obj]) -> Iterator[tuple[Obj, Obj]]:
    for obj in objects:
        if obj["kind"] in WORKLOADS:
            yield obj, obj.get("spec", {}).get("template", {})


def template_labels(template: Obj) -> dict[str, str]:
    return template.get("metadata", {}).get("labels") or {}


def ports_of(*containers: Obj) -> set[Any]:
    """The names and numbers of the containers' ports (what probes and Services may target)."""
    ports = [port for c in containers for port in c.get("ports", [])]
    return {p.get("name") for p in ports} | {p.get("containerPort") for p in ports}


def port_names(template: Obj) -> set[Any]:
    return ports_of(*template.get("spec", {}).get("containers", []))


def container_problems(container: Obj, long_running: bool) -> list[str]:
    found = []
    image = container.get("image", "")
    tag = image.rsplit("/", 1)[-1]
    if "@" not in tag and (":" not in tag or tag.endswith(":latest")):
        found.append(f"image {image} has no pinned tag (`latest` or none)")
    resources = container.get("resources", {})
    for kind in ("requests", "limits"):
        missing = {"cpu", "memory"} - set(resources.get(kind) or {})
        if missing:
            found.append(f"resources.{kind} lacks {', '.join(sorted(missing))}")
    sc = container.get("securityContext") or {}
    if sc.get("allowPrivilegeEscalation") is not False:
        found.append("securityContext.allowPrivilegeEscalation must be false")
    if sc.get("readOnlyRootFilesystem") is not True:
        found.append("securityContext.readOnlyRootFilesystem must be true")
    if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
        found.append("securityContext.capabilities.drop must include ALL")
    if sc.get("privileged"):
        found.append("securityContext.privileged must not be set")
    if long_running:
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            spec = container.get(probe)
            if not spec:
                found.append(f"{probe} missing")
                continue
            action = spec.get("httpGet") or spec.get("tcpSocket") or {}
            if "port" in action and action["port"] not in ports_of(container):
                found.append(f"{probe} port {action['port']!r} is not a port of the container")
    return [f"container {container.get('name')}: {p}" for p in found]


def app_wiring_problems(template: Obj) -> list[str]:
    """A Deployment of the platform image: migration wait and health endpoints."""
    spec = template.get("spec", {})
    main = spec.get("containers", [{}])[0]
    waits = [c for c in spec.get("initContainers", []) if c.get("args") == ["wait-for-migrations"]]
    found = []
    if not waits:
        found.append("no initContainer runs wait-for-migrations")
    elif waits[0].get("image") != main.get("image"):
        found.append("wait-for-migrations must use the same image as the process it guards")
    paths = {
        "startupProbe": "/health/live",
        "livenessProbe": "/health/live",
        "readinessProbe": "/health/ready",
    }
    for probe, path in paths.items():
        if ((main.get(probe) or {}).get("httpGet") or {}).get("path") != path:
            found.append(f"{probe} must be an HTTP GET on {path}")
    return found


def pod_problems(obj: Obj, template: Obj, objects: list[Obj]) -> list[str]:
    spec, labels = template.get("spec", {}), template_labels(template)
    found: list[str] = []
    pod_sc = spec.get("securityContext") or {}
    if pod_sc.get("runAsNonRoot") is not True:
        found.append("securityContext.runAsNonRoot must be true")
    if (pod_sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        found.append("securityContext.seccompProfile.type must be RuntimeDefault")
    if spec.get("automountServiceAccountToken") is not False:
        found.append("automountServiceAccountToken must be false")
    mains = spec.get("containers", [])
    for container in spec.get("initContainers", []):
        found += container_problems(container, long_running=False)
    for container in mains:
        found += container_problems(container, long_running=obj["kind"] != "Job")
    for container in spec.get("initContainers", []) + mains:
        for source in container.get("envFrom", []):
            config_map = (source.get("configMapRef") or {}).get("name")
            if config_map and not named(objects, "ConfigMap", config_map):
                found.append(f"ConfigMap/{config_map} is not rendered")
    if obj["kind"] == "Job":
        for field in ("backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"):
            if field not in obj["spec"]:
                found.append(f"spec.{field} missing")
        return found
    if not selects(obj["spec"].get("selector"), labels):
        found.append("spec.selector does not match the pod template's labels")
    if obj["kind"] == "Deployment":
        budgets = [o for o in objects if o["kind"] == "PodDisruptionBudget"]
        if not any(selects(b["spec"].get("selector"), labels) for b in budgets):
            found.append("no PodDisruptionBudget selects its pods")
        if mains[0].get("image", "").rsplit("/", 1)[-1].split(":")[0] == APP_IMAGE:
            found += app_wiring_problems(template)
    return found


def named(objects: list[Obj], kind: str, name: str | None) -> Obj | None:
    return next((o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name), None)


def service_problems(service: Obj, objects: list[Obj]) -> Iterator[str]:
    selector = service["spec"].get("selector")
    chosen = [t for _, t in pod_templates(objects) if selects(selector, template_labels(t))]
    if not chosen:
        yield "selector matches no pod template"
    for port in service["spec"].get("ports", []) if chosen else []:
        target = port.get("targetPort", port.get("port"))
        if not any(target in port_names(t) for t in chosen):
            yield f"targetPort {target!r} is not a port of its pods"


def ingress_problems(ingress: Obj, objects: list[Obj]) -> Iterator[str]:
    for rule in ingress["spec"].get("rules", []):
        for path in (rule.get("http") or {}).get("paths", []):
            backend = path["backend"].get("service", {})
            service = named(objects, "Service", backend.get("name"))
            port = backend.get("port", {})
            wanted = port.get("name", port.get("number"))
            if service is None:
                yield f"backend Service/{backend.get('name')} is not rendered"
            elif not any(
                wanted in (p.get("name"), p.get("port")) for p in service["spec"]["ports"]
            ):
                yield f"Service/{backend.get('name')} has no port {wanted!r}"


def network_policy_problems(policy: Obj, objects: list[Obj]) -> Iterator[str]:
    selector = policy["spec"].get("podSelector")
    chosen = [t for _, t in pod_templates(objects) if selects(selector, template_labels(t))]
    for rule in policy["spec"].get("ingress", []):
        for port in rule.get("ports", []):
            name = port.get("port")
            if isinstance(name, str) and not any(name in port_names(t) for t in chosen):
                yield f"no pod it selects has a port named {name!r}"


def scaler_problems(scaler: Obj, objects: list[Obj]) -> Iterator[str]:
    target = scaler["spec"].get("scaleTargetRef", {}).get("name")
    if not named(objects, "Deployment", target):
        yield f"scale target Deployment/{target} is not rendered"
    others = [
        o
        for o in objects
        if o["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")
        and o is not scaler
        and o["spec"].get("scaleTargetRef", {}).get("name") == target
    ]
    if others:
        yield f"Deployment/{target} is also scaled by {ref(others[0])}"
    for trigger in scaler["spec"].get("triggers", []):
        auth = (trigger.get("authenticationRef") or {}).get("name")
        if auth and not named(objects, "TriggerAuthentication", auth):
            yield f"TriggerAuthentication/{auth} is not rendered"


def production_problems(obj: Obj, objects: list[Obj]) -> Iterator[str]:
    """Rules for an overlay whose configuration says ENVIRONMENT=production."""
    config = [o for o in objects if o["metadata"]["name"].startswith("todo-platform-config")]
    if not config or config[0].get("data", {}).get("ENVIRONMENT") != "production":
        return
    spec = obj.get("spec") or {}
    api = obj["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "api"
    if obj["kind"] == "HorizontalPodAutoscaler" and api and spec.get("minReplicas", 1) < 2:
        yield "production needs minReplicas >= 2"
    if obj["kind"] == "Ingress" and not spec.get("tls"):
        yield "production Ingress without TLS"


def rule_problems(objects: list[Obj]) -> Iterator[str]:
    checks = {
        "Service": service_problems,
        "Ingress": ingress_problems,
        "NetworkPolicy": network_policy_problems,
        "HorizontalPodAutoscaler": scaler_problems,
        "ScaledObject": scaler_problems,
    }
    for obj in objects:
        found = list(production_problems(obj, objects))
        if obj["kind"] in WORKLOADS:
            found += pod_problems(obj, obj["spec"].get("template", {}), objects)
        if obj["kind"] in checks:
            found += checks[obj["kind"]](obj, objects)
        if obj["kind"] == "Secret" and (obj.get("data") or obj.get("stringData")):
            found.append("carries values; Secrets are created out of band, never rendered")
        yield from (f"{ref(obj)}: {problem}" for problem in found)
