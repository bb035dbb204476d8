#!/usr/bin/env bash
# The Grafana dashboard and the Prometheus alerts of conf-examples/ against what the module
# exports: the rules load (promtool check rules), each alert fires on the series of its unit
# test and only there (promtool test rules), the dashboard's queries parse, and every metric
# either names is in the exposition of build/metrics_sample. Run by ctest (make unit).
# usage: check-monitoring.sh <path of the metrics_sample binary>
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
sample_bin=${1:?usage: $0 <metrics_sample binary>}
work=$(mktemp -d "${TMPDIR:-/tmp}/check-monitoring.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Through a file: a crash of metrics_sample must fail, not leave an empty list of names.
"$sample_bin" > "$work/exposition.txt"
# Names first: a misspelt metric is named as such, not as an alert that failed its test.
# Debian's interpreter, which has python3-yaml.
/usr/bin/python3 "$repo/t/monitoring/check_metric_names.py" "$work/exposition.txt" \
    "$repo/conf-examples/grafana/registry-cache.json" \
    "$repo/conf-examples/prometheus/alerts.yml" > "$work/dashboard-rules.yml"
promtool check rules "$work/dashboard-rules.yml"
promtool check rules "$repo/conf-examples/prometheus/alerts.yml"
promtool test rules "$repo/t/monitoring/alerts_test.yml"
