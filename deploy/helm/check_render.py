#!/usr/bin/env python3
"""Renders deploy/helm/kev with Helm's own engine and compares it with deploy/manifests.

Needs no helm binary: helm-python-sdk binds Helm's Go SDK (libhelm_c).
    pip install helm-python-sdk pyyaml
    python3 deploy/helm/check_render.py            # default values
    python3 deploy/helm/check_render.py --monitor  # serviceMonitor.enabled=true too
Exit code 0 when every rendered object equals its manifest, apart from the documented
differences (Helm's own labels, the config checksum, the Namespace and the CRD, which
Helm installs from crds/); 1 otherwise, printing both sides.
"""

import glob
import json
import sys

import helm_python as helm
import yaml

HELM_ONLY_KEYS = ("helm.sh/chart", "app.kubernetes.io/managed-by", "checksum/config")
NOT_RENDERED = {("Namespace", "kev"), ("CustomResourceDefinition", "eventpolicies.kev.dev")}


def by_key(docs):
    return {(d["kind"], d["metadata"]["name"]): d for d in docs if d}


def normalize(doc):
    doc = json.loads(json.dumps(doc))

    def strip(node):
        if isinstance(node, dict):
            for key in HELM_ONLY_KEYS:
                node.pop(key, None)
            for value in node.values():
                strip(value)
        elif isinstance(node, list):
            for value in node:
                strip(value)

    strip(doc)
    if doc["kind"] == "ConfigMap":
        doc["data"]["kev.yaml"] = yaml.safe_load(doc["data"]["kev.yaml"])
    template = doc.get("spec", {}).get("template", {}).get("metadata", {})
    if template.get("annotations") == {}:
        template.pop("annotations")
    return doc


def main():
    monitor = "--monitor" in sys.argv[1:]
    values = {"serviceMonitor": {"enabled": True}} if monitor else None
    lint = helm.lint("deploy/helm/kev", values, strict=True, namespace="kev")
    problems = [m for m in lint["messages"] if m["severity"] >= 2] + lint["errors"]
    rendered = helm.Chart.load("deploy/helm/kev").render(
        values, name="kev", namespace="kev", is_install=True
    )
    chart = by_key(
        d
        for path, text in rendered.items()
        if path.endswith(".yaml")
        for d in yaml.safe_load_all(text)
    )
    files = sorted(glob.glob("deploy/manifests/*.yaml"))
    if monitor:
        files += sorted(glob.glob("deploy/manifests/monitoring/*.yaml"))
    manifests = by_key(d for f in files for d in yaml.safe_load_all(open(f)))
    for key in sorted(set(chart) | set(manifests)):
        if key in NOT_RENDERED and key not in chart:
            continue
        if key not in chart or key not in manifests:
            problems.append(f"{key}: only in the {'manifests' if key in manifests else 'chart'}")
            continue
        a, b = normalize(chart[key]), normalize(manifests[key])
        if a != b:
            problems.append(
                f"{key} differs:\n  chart:     {json.dumps(a, sort_keys=True)}\n"
                f"  manifests: {json.dumps(b, sort_keys=True)}"
            )
        else:
            print(f"same: {key[0]}/{key[1]}")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
