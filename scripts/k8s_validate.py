"""Render every kustomize overlay and validate each object offline.

Usage: python scripts/k8s_validate.py [OVERLAY_DIR ...]   (default: deploy/k8s/overlays/*)

Each overlay is rendered with `kubectl kustomize` (no cluster needed). Every object must pass
the Kubernetes JSON schema of KUBERNETES_VERSION in strict mode (an unknown field fails, as
the API server would prune or refuse it) or, for the KEDA kinds, the schema in
deploy/k8s/schemas/; any other kind fails. Then the platform's own rules are checked: probes,
resources, the restricted security context, a PodDisruptionBudget per Deployment, the
migration wait, references between objects, no Secret with values, no `latest` images.
Exit status: 0 all valid, 1 a problem was found, 2 kubectl is missing or too old.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import jsonschema
import yaml
from k8s_rules import Obj, ref, rule_problems
from kubernetes_validate import utils as kube_schemas

REPO_ROOT = Path(__file__).resolve().parents[1]
OVERLAYS_DIR = REPO_ROOT / "deploy" / "k8s" / "overlays"
CRD_SCHEMAS_DIR = REPO_ROOT / "deploy" / "k8s" / "schemas"
# The oldest Kubernetes minor these manifests support (HPA v2, PDB policy/v1, Pod Security labels).
KUBERNETES_VERSION = "1.30"
CRD_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject-keda-v1alpha1.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "triggerauthentication-keda-v1alpha1.json",
}
# `labels`, `components` and targeted patches need kustomize 5 (bundled since kubectl 1.27).
MIN_KUSTOMIZE_MAJOR = 5


def kubectl_unusable() -> str | None:
    """Why kubectl cannot render the overlays here (exit 2: not a problem of the manifests)."""
    if shutil.which("kubectl") is None:
        return (
            "kubectl is missing: apt-get install kubernetes-client (Debian); its kubectl 1.20 "
            "bundles a kustomize too old for these overlays, so prefer kubectl >= 1.27 "
            "(https://kubernetes.io/docs/tasks/tools/)"
        )
    out = subprocess.run(["kubectl", "version", "--client", "-o", "json"], capture_output=True)
    kustomize = json.loads(out.stdout or b"{}").get("kustomizeVersion", "")
    major = re.match(r"v?(\d+)", kustomize)
    if major is None or int(major.group(1)) < MIN_KUSTOMIZE_MAJOR:
        return (
            f"kubectl bundles kustomize {kustomize or '(unknown)'}; these overlays need "
            f"kustomize >= v{MIN_KUSTOMIZE_MAJOR} (kubectl >= 1.27)"
        )
    return None


def render(overlay: Path) -> list[Obj]:
    done = subprocess.run(["kubectl", "kustomize", str(overlay)], capture_output=True, text=True)
    if done.returncode != 0:
        raise ValueError(f"kubectl kustomize failed: {done.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def schema_problems(obj: Obj) -> list[str]:
    key = (obj.get("apiVersion", ""), obj.get("kind", ""))
    if key in CRD_SCHEMAS:
        schema = json.loads((CRD_SCHEMAS_DIR / CRD_SCHEMAS[key]).read_text())
        return [
            f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in jsonschema.Draft202012Validator(schema).iter_errors(obj)
        ]
    try:
        kube_schemas.validate(obj, KUBERNETES_VERSION, strict=True)
    except kube_schemas.ValidationError as e:
        return [f"{'.'.join(map(str, e.path)) or '<root>'}: {e.message}"]
    except kube_schemas.SchemaNotFoundError:
        return [
            f"unknown kind {key[1]} ({key[0]}): no Kubernetes {KUBERNETES_VERSION} schema "
            f"and none in {CRD_SCHEMAS_DIR.relative_to(REPO_ROOT)}"
        ]
    return []


def validate_overlay(overlay: Path) -> tuple[list[Obj], list[str]]:
    objects = render(overlay)
    problems = [f"{ref(o)}: {p}" for o in objects for p in schema_problems(o)]
    if not problems:  # the rules below assume schema-valid objects
        problems += rule_problems(objects)
    return objects, problems


def main(argv: list[str]) -> int:
    overlays = [Path(a) for a in argv] or sorted(
        p.parent for p in OVERLAYS_DIR.glob("*/kustomization.yaml")
    )
    unusable = kubectl_unusable()
    if unusable:
        print(f"k8s-validate: {unusable}", file=sys.stderr)
        return 2
    failed = 0
    for overlay in overlays:
        label = overlay.name
        try:
            objects, problems = validate_overlay(overlay)
        except ValueError as error:
            objects, problems = [], [str(error)]
        if problems:
            failed += len(problems)
            print(f"{label}: {len(problems)} problem(s)")
            for problem in problems:
                print(f"  {problem}")
            continue
        kinds = ", ".join(
            f"{k} {n}" for k, n in sorted(Counter(o["kind"] for o in objects).items())
        )
        print(f"{label}: {len(objects)} objects valid (Kubernetes {KUBERNETES_VERSION}): {kinds}")
    if failed:
        print(f"k8s-validate: {failed} problem(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
