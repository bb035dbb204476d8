#!/usr/bin/python3
"""Checks that every metric a PromQL expression of the Grafana dashboard or of the alerting
rules names is one the module exports, so that a typo or a renamed metric fails instead of
drawing an empty panel or an alert that can never fire.

usage: check_metric_names.py <exposition file> <dashboard.json> <alerts.yml>
Also writes, to stdout, the dashboard's expressions as a rule file (Grafana's variables
replaced by plain values) for `promtool check rules` to parse.
"""
import json
import re
import sys

import yaml

# Words of PromQL that are not metric names when they stand alone.
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan"}


def exported_names(path):
    names = set()
    with open(path) as f:
        for line in f:
            m = re.match(r"# TYPE (\S+) \S+$", line)
            if m:
                names.add(m.group(1))
    if not names:
        sys.exit(f"{path}: no metric families: did metrics_sample fail?")
    return names


def metric_names(expr):
    """The metric names of one expression: identifiers left once strings, label matchers,
    ranges, groupings and function calls are set aside."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        word = m.group(0)
        following = e[m.end():].lstrip()
        if following.startswith("("):
            continue  # a function; promtool rejects an unknown one
        if word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names


def grafana_to_promql(expr):
    return expr.replace("$__rate_interval", "5m").replace("$cache", ".*")


def main():
    exposition, dashboard_path, rules_path = sys.argv[1:4]
    exported = exported_names(exposition)
    with open(dashboard_path) as f:
        dashboard = json.load(f)
    with open(rules_path) as f:
        rules = yaml.safe_load(f)

    exprs = []  # (where, expression)
    for panel in dashboard["panels"]:
        targets = panel.get("targets", [])
        if not targets and panel.get("type") != "row":
            sys.exit(f"{dashboard_path}: panel {panel['title']!r} has no query")
        for t in targets:
            exprs.append((f"panel {panel['title']!r}", grafana_to_promql(t["expr"])))
    for var in dashboard["templating"]["list"]:
        if var["type"] != "query":
            continue
        query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
        m = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", query)
        if not m:
            sys.exit(f"{dashboard_path}: variable {var['name']}: not label_values(metric, label): {query}")
        exprs.append((f"variable {var['name']}", m.group(1)))
    for group in rules["groups"]:
        for rule in group["rules"]:
            exprs.append((f"rule {rule.get('alert') or rule.get('record')}", rule["expr"]))

    unknown = []
    used = set()
    for where, expr in exprs:
        names = metric_names(expr)
        if not names:
            unknown.append(f"{where}: no metric in {expr!r}")
        for name in sorted(names - exported):
            unknown.append(f"{where}: {name} is not exported")
        used |= names
    if unknown:
        sys.exit("\n".join(unknown))
    print(f"{len(exprs)} expressions name {len(used)} metrics, all exported", file=sys.stderr)

    # The dashboard's expressions as recording rules, for promtool to parse.
    records = [{"record": f"dashboard:expr_{i}", "expr": expr}
               for i, (where, expr) in enumerate(exprs) if where.startswith("panel")]
    yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]}, sys.stdout)


if __name__ == "__main__":
    main()
