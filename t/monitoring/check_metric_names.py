#!/usr/bin/python3
"""Checks that every metric a PromQL expression of the Grafana dashboard or of the alerting
rules names is one the module exports, and every label value it selects one the module
exports too, so that a typo or a renamed metric fails instead of drawing an empty panel or
an alert that can never fire.

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


def exported(path):
    """The families of the exposition, and the (metric, label, value) of its samples."""
    names, labels = set(), set()
    with open(path) as f:
        for line in f:
            m = re.match(r"# TYPE (\S+) \S+$", line)
            if m:
                names.add(m.group(1))
                continue
            m = re.match(r"(\w+)\{(.*)\} \S+$", line)
            if m:
                for label, value in re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2)):
                    labels.add((m.group(1), label, value))
    if not names:
        sys.exit(f"{path}: no metric families: did metrics_sample fail?")
    return names, labels


def unknown_label_values(expr, labels):
    """Matchers of an expression's metrics that select a label value the module never
    exports (result="revalidatd"): such a query draws nothing. The cache label's values are
    the operator's, and a regex is checked only when it is a plain list of alternatives."""
    wrong = []
    for metric, matchers in re.findall(r"([A-Za-z_:][A-Za-z0-9_:]*)\{([^}]*)\}", expr):
        for label, op, value in re.findall(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"', matchers):
            if label == "cache" or op not in ("=", "=~"):
                continue
            values = value.split("|") if op == "=~" else [value]
            if op == "=~" and not all(re.fullmatch(r"\w+", v) for v in values):
                continue
            wrong += [f'{metric}{{{label}="{v}"}}' for v in values if (metric, label, v) not in labels]
    return wrong


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
    exported_names, exported_labels = exported(exposition)
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
        for name in sorted(names - exported_names):
            unknown.append(f"{where}: {name} is not exported")
        for selector in unknown_label_values(expr, exported_labels):
            unknown.append(f"{where}: {selector} is never exported")
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
