#!/usr/bin/env python3
"""Checks the Grafana dashboards in dashboards/ (ctest `dashboards_lint`, label unit; standard
library plus promtool, which parses every query).

Grafana's dashboard-linter cannot be installed here, so this makes its checks
(template-datasource, template-label-promql, template-on-time-change-reload, template-unused,
panel-datasource, panel-title-description, panel-units, panel-no-targets, target-promql,
target-rate-interval, target-counter-agg, target-required-matchers) and this project's:

- the committed JSON is what dashboards/generate.py writes;
- provisioning-ready: no `${DS_...}` import placeholders, no __inputs, `id` null, the stable uid
  and title of each dashboard;
- variables: the `datasource` variable, then query variables refreshed on time change,
  multi-value, with an "All" value of `.*` (so that a series without the label still matches),
  each querying only variables defined before it, each used by some panel;
- every selector of every query: a metric the exporter or the JMX rules publish (README
  catalogue, config/jmx/kafka-broker.yaml), the cluster and namespace matchers, variables
  matched with =~;
- every panel: a title, a description, a valid unit, the templated data source, a legend on
  time series, placed inside the 24-column grid without overlapping another panel; alert names
  in descriptions exist in alerts/;
- consumer lag: panels in messages and in seconds, and status panels mapping every status code.

`--self-test` breaks copies of the dashboards in the ways above and fails unless each breakage
is reported (run by the same ctest).
"""

import copy
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "dashboards"))
sys.path.insert(0, os.path.join(REPO, "test", "alerts"))
import promql_lite  # noqa: E402
import generate  # noqa: E402
import check_alerts  # noqa: E402

PROMTOOL = os.environ.get("PROMTOOL", shutil.which("promtool") or "/usr/bin/promtool")
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
EXPECTED = {  # file: (uid, title); uids are what links and bookmarks point at: never change them
    "kafka-cluster-overview.json": ("kafka-hub-cluster-overview", "Kafka Cluster Overview"),
    "kafka-topics.json": ("kafka-hub-topics", "Kafka Topics"),
    "consumer-lag-monitoring.json": ("kafka-hub-consumer-lag", "Consumer Lag Monitoring"),
    "zookeeper-cluster.json": ("kafka-hub-zookeeper", "Zookeeper Cluster"),
    "kafka-hub-exporter.json": ("kafka-hub-exporter", "kafka-hub-exporter"),
}
BUILTIN_VARIABLES = {"__rate_interval", "__range", "__interval", "__interval_ms", "__range_s",
                     "__range_ms", "__dashboard", "__from", "__to"}
REQUIRED_MATCHERS = [("cluster", "=~", "$cluster"), ("namespace", "=~", "$namespace")]
# Grafana's unit ids (packages/grafana-data/src/valueFormats/categories.ts), the categories a
# Kafka dashboard can use.
VALID_UNITS = set("""
none string short percent percentunit humidity dB hex0x hex sci locale pixel
bytes decbytes bits decbits kbytes deckbytes mbytes decmbytes gbytes decgbytes tbytes dectbytes
pbytes decpbytes
pps binBps Bps binbps bps KiBs Kibits KBs Kbits MiBs Mibits MBs Mbits GiBs Gibits GBs Gbits TiBs
Tibits TBs Tbits PiBs Pibits PBs Pbits
dateTimeAsIso dateTimeAsIsoNoDateIfToday dateTimeAsUS dateTimeAsUSNoDateIfToday dateTimeAsLocal
dateTimeAsLocalNoDateIfToday dateTimeAsSystem dateTimeFromNow
hertz ns µs ms s m h d dtdurationms dtdurations dthms dtdhms timeticks clockms clocks
cps ops reqps rps wps iops cpm opm rpm wpm
bool bool_yes_no bool_on_off
celsius fahrenheit kelvin
""".split())
UNIT_PANELS = {"stat", "gauge", "timeseries", "table", "state-timeline", "bargauge", "graph",
               "singlestat"}
LAG_MESSAGES = {"kafka_consumergroup_group_max_lag", "kafka_consumergroup_group_sum_lag",
                "kafka_consumergroup_group_topic_sum_lag", "kafka_consumergroup_group_lag"}
LAG_SECONDS = {"kafka_consumergroup_group_max_lag_seconds", "kafka_consumergroup_group_lag_seconds"}


def panels_of(dashboard):
    for p in dashboard.get("panels", []):
        yield p
        for q in p.get("panels", []):  # collapsed rows
            yield q


def variable_query(v):
    q = v.get("query", "")
    return q.get("query", "") if isinstance(q, dict) else q


def expand(expr):
    """The expression with every variable replaced, ready for promtool."""
    values = {name: ".*" for name in promql_lite.variables(expr) - BUILTIN_VARIABLES}
    return promql_lite.substitute(expr, values)


def check_expr(where, expr, defined, known, problems):
    used = promql_lite.variables(expr)
    for name in sorted(used - BUILTIN_VARIABLES - set(defined)):
        problems.append(f"{where}: ${name} is not a variable defined before it")
    try:
        sels = promql_lite.selectors(expr)
    except promql_lite.PromQLError as e:
        problems.append(f"{where}: {e}")
        return
    if not sels:
        problems.append(f"{where}: no selector in {expr!r}")
    for sel in sels:
        kind = known.type_of(sel.name) if sel.name else None
        if kind is None:
            problems.append(f"{where}: {sel.name} is published by nothing this repository knows")
        if kind == "counter" and sel.function not in promql_lite.COUNTER_FUNCTIONS:
            problems.append(f"{where}: counter {sel.name} used without rate()/increase()")
        if sel.range is not None:
            if sel.function in promql_lite.RATE_FUNCTIONS and sel.range != "$__rate_interval":
                problems.append(f"{where}: {sel.function}() over [{sel.range}], not [$__rate_interval]")
            elif sel.range not in ("$__rate_interval", "$__range"):
                problems.append(f"{where}: range [{sel.range}] is neither $__rate_interval nor $__range")
        for label, op, value in REQUIRED_MATCHERS:
            # A variable's own query can only narrow by the variables defined before it.
            if label in defined and (label, op, value) not in sel.matchers:
                problems.append(f"{where}: {sel.name} lacks {label}{op}\"{value}\"")
        for label, op, value in sel.matchers:
            if promql_lite.variables(value) and op != "=~":
                problems.append(f"{where}: {sel.name}: variable in {label}{op}\"{value}\" needs =~ "
                                f"(multi-value variables are regexes)")


def check_dashboard(name, d, known, alerts, problems, exprs):
    """Appends problems; appends (where, expanded expr) to exprs for promtool."""
    text = json.dumps(d)
    if "${DS_" in text or "__inputs" in d or "__requires" in d:
        problems.append(f"{name}: import placeholders (${{DS_...}}, __inputs) break provisioning")
    uid, title = EXPECTED.get(name, (None, None))
    if uid is None:
        problems.append(f"{name}: not one of the expected dashboards {sorted(EXPECTED)}")
    elif (d.get("uid"), d.get("title")) != (uid, title):
        problems.append(f"{name}: uid/title {d.get('uid')!r}/{d.get('title')!r}, expected {uid!r}/{title!r}")
    if d.get("id") is not None:
        problems.append(f"{name}: id must be null for provisioning")
    if d.get("editable") is not False:
        problems.append(f"{name}: editable must be false (the JSON is the source of truth)")

    # --- variables
    variables = d.get("templating", {}).get("list", [])
    datasources = [v for v in variables if v.get("type") == "datasource"]
    if len(datasources) != 1 or datasources[0].get("name") != "datasource" or \
            datasources[0].get("label") != "Data source" or datasources[0].get("query") != "prometheus":
        problems.append(f"{name}: needs exactly one datasource variable: name datasource, label "
                        f"'Data source', query prometheus")
    defined = []
    for v in variables:
        vname = v.get("name", "")
        where = f"{name}: variable {vname}"
        if v.get("type") == "datasource":
            defined.append(vname)
            continue
        if v.get("type") != "query":
            problems.append(f"{where}: type {v.get('type')!r}, expected query")
            continue
        if v.get("datasource") != DATASOURCE:
            problems.append(f"{where}: data source {v.get('datasource')!r}, expected {DATASOURCE}")
        if v.get("refresh") != 2:
            problems.append(f"{where}: refresh {v.get('refresh')!r}, expected 2 (on time range change)")
        if not v.get("multi") or not v.get("includeAll") or v.get("allValue") != ".*":
            problems.append(f"{where}: must be multi-value with includeAll and allValue '.*' "
                            f"(matches series without the label)")
        if v.get("label") != vname.capitalize():
            problems.append(f"{where}: label {v.get('label')!r}, expected {vname.capitalize()!r}")
        m = re.match(r"^label_values\((.+),\s*(\w+)\)$", variable_query(v))
        if not m or m.group(2) != vname:
            problems.append(f"{where}: query {variable_query(v)!r} is not label_values(<selector>, {vname})")
        else:
            check_expr(where, m.group(1), defined, known, problems)
            exprs.append((where, expand(m.group(1))))
        defined.append(vname)

    # --- panels
    used, ids, cells = set(), set(), {}
    for p in panels_of(d):
        pid, ptype, ptitle = p.get("id"), p.get("type"), p.get("title", "")
        where = f"{name}: panel {pid} {ptitle!r}"
        if pid in ids:
            problems.append(f"{where}: duplicate id")
        ids.add(pid)
        g = p.get("gridPos", {})
        if g.get("x", -1) < 0 or g.get("w", 0) <= 0 or g.get("x", 0) + g.get("w", 0) > 24 or g.get("h", 0) <= 0:
            problems.append(f"{where}: gridPos {g} outside the 24-column grid")
        for x in range(g.get("x", 0), g.get("x", 0) + g.get("w", 0)):
            for y in range(g.get("y", 0), g.get("y", 0) + g.get("h", 0)):
                if (x, y) in cells:
                    problems.append(f"{where}: overlaps panel {cells[(x, y)]}")
                    break
                cells[(x, y)] = pid
            else:
                continue
            break
        if ptype == "row":
            if not ptitle:
                problems.append(f"{where}: row without a title")
            continue
        if not ptitle or not p.get("description"):
            problems.append(f"{where}: needs a title and a description")
        for alert in re.findall(r"\b((?:Kafka|Zookeeper)[A-Z]\w+)", p.get("description", "")):
            if alert not in alerts:
                problems.append(f"{where}: description names {alert}, which is no alert in alerts/")
        if p.get("datasource") != DATASOURCE:
            problems.append(f"{where}: data source {p.get('datasource')!r}, expected {DATASOURCE}")
        if ptype in UNIT_PANELS:
            units = [p.get("fieldConfig", {}).get("defaults", {}).get("unit")]
            for o in p.get("fieldConfig", {}).get("overrides", []):
                units += [prop["value"] for prop in o.get("properties", []) if prop.get("id") == "unit"]
            for unit in units:
                if unit not in VALID_UNITS:
                    problems.append(f"{where}: unit {unit!r} is not a Grafana unit")
        targets = p.get("targets", [])
        if not targets:
            problems.append(f"{where}: no targets")
        refs = set()
        for t in targets:
            twhere = f"{where} query {t.get('refId')}"
            if t.get("refId") in refs:
                problems.append(f"{twhere}: duplicate refId")
            refs.add(t.get("refId"))
            if t.get("datasource") != DATASOURCE:
                problems.append(f"{twhere}: data source {t.get('datasource')!r}, expected {DATASOURCE}")
            expr = t.get("expr", "")
            if not expr.strip():
                problems.append(f"{twhere}: empty query")
                continue
            if ptype in ("timeseries", "state-timeline") and t.get("legendFormat", "__auto") == "__auto":
                problems.append(f"{twhere}: time series without a legend")
            used |= promql_lite.variables(expr)
            check_expr(twhere, expr, defined, known, problems)
            exprs.append((twhere, expand(expr)))
    for v in defined:
        if v != "datasource" and v not in used:
            problems.append(f"{name}: variable {v} is used by no panel")


def check_consumer_lag(d, problems):
    """Lag in messages and in seconds, and status with every code mapped."""
    found = {"messages": False, "seconds": False, "partition status": False, "group status": False}
    for p in panels_of(d):
        fc = p.get("fieldConfig", {})
        units = {fc.get("defaults", {}).get("unit")}
        mapped = set()
        for m in fc.get("defaults", {}).get("mappings", []):
            mapped |= set(m.get("options", {}))
        for o in fc.get("overrides", []):
            for prop in o.get("properties", []):
                if prop.get("id") == "unit":
                    units.add(prop["value"])
                if prop.get("id") == "mappings":
                    for m in prop["value"]:
                        mapped |= set(m.get("options", {}))
        names = set()
        for t in p.get("targets", []):
            names |= {s.name for s in promql_lite.selectors(t.get("expr", "")) if s.name}
        if names & LAG_MESSAGES and units & {"short", "none"}:
            found["messages"] = True
        if names & LAG_SECONDS and "s" in units:
            found["seconds"] = True
        if "kafka_consumergroup_partition_status" in names and {"1", "2", "4", "5", "6"} <= mapped:
            found["partition status"] = True
        if "kafka_consumergroup_group_status" in names and {"1", "2", "3"} <= mapped:
            found["group status"] = True
    for what, ok in found.items():
        if not ok:
            problems.append(f"consumer-lag-monitoring.json: no panel showing {what}")


def promtool_parse(exprs, problems):
    """Every expression through Prometheus's own parser (as recording rules, one group each)."""
    if not os.path.exists(PROMTOOL):
        problems.append(f"promtool not found ({PROMTOOL}): install the Debian package prometheus")
        return
    with tempfile.TemporaryDirectory(prefix="khe-dash-") as tmp:
        path = os.path.join(tmp, "queries.yml")
        with open(path, "w") as f:
            f.write("groups:\n")
            for i, (_, expr) in enumerate(exprs):
                f.write(f"  - name: q{i}\n    rules:\n      - record: dashboard:query{i}\n"
                        f"        expr: {json.dumps(expr)}\n")
        p = subprocess.run([PROMTOOL, "check", "rules", path], capture_output=True, text=True,
                           timeout=120)
        if p.returncode != 0:
            bad = {int(i) for i in re.findall(r'group "q(\d+)"', p.stdout + p.stderr)}
            for i in sorted(bad) or range(len(exprs)):
                problems.append(f"{exprs[i][0]}: promtool cannot parse {exprs[i][1]!r}")
            if not bad:
                problems.append(f"promtool: {(p.stdout + p.stderr)[-2000:]}")


def check(dashboards, committed_equal_source=True):
    """dashboards: {file name: parsed JSON}. Returns problems."""
    problems, exprs = [], []
    known = promql_lite.KnownMetrics()
    alerts = set()
    for path in check_alerts.RULES:
        alerts |= {r.name for r in check_alerts.read_rules(path)}
    missing = sorted(set(EXPECTED) - set(dashboards))
    if missing:
        problems.append(f"missing dashboards: {missing}")
    for name, d in sorted(dashboards.items()):
        check_dashboard(name, d, known, alerts, problems, exprs)
    if "consumer-lag-monitoring.json" in dashboards:
        check_consumer_lag(dashboards["consumer-lag-monitoring.json"], problems)
    uids = [d.get("uid") for d in dashboards.values()]
    if len(uids) != len(set(uids)):
        problems.append(f"uids are not unique: {uids}")
    promtool_parse(exprs, problems)
    return problems, len(exprs)


def load():
    out = {}
    for path in sorted(glob.glob(os.path.join(REPO, "dashboards", "*.json"))):
        with open(path) as f:
            out[os.path.basename(path)] = json.load(f)
    return out


def self_test(dashboards):
    """Each breakage must be reported; returns the breakages that went unnoticed."""
    def first(d, ptype):
        return next(p for p in panels_of(d) if p.get("type") == ptype)

    def set_expr(d, ptype, fn):
        t = first(d, ptype)["targets"][0]
        t["expr"] = fn(t["expr"])

    breakages = {
        "import placeholder": (lambda d: first(d, "timeseries").update(
            datasource={"type": "prometheus", "uid": "${DS_PROMETHEUS}"}), "import placeholders"),
        "no unit": (lambda d: first(d, "timeseries")["fieldConfig"]["defaults"].pop("unit"), "is not a Grafana unit"),
        "unknown unit": (lambda d: first(d, "stat")["fieldConfig"]["defaults"].update(unit="messages"), "is not a Grafana unit"),
        "no description": (lambda d: first(d, "stat").pop("description"), "needs a title and a description"),
        "fixed rate range": (lambda d: set_expr(d, "timeseries", lambda e: e.replace("$__rate_interval", "5m")),
                             "not [$__rate_interval]"),
        "no cluster matcher": (lambda d: set_expr(d, "stat", lambda e: e.replace('cluster=~"$cluster", ', "")),
                               'lacks cluster=~"$cluster"'),
        "misspelt metric": (lambda d: set_expr(d, "stat", lambda e: e.replace("kafka_", "kafak_", 1)),
                            "published by nothing"),
        "counter without rate": (lambda d: set_expr(d, "timeseries", lambda e: re.sub(
            r"rate\((.*?)\[\$__rate_interval\]\)", r"\1", e)), "without rate()"),
        "syntax error": (lambda d: set_expr(d, "stat", lambda e: e + " +"), "promtool cannot parse"),
        "uid changed": (lambda d: d.update(uid="something-else"), "uid/title"),
        "variable .+": (lambda d: d["templating"]["list"][1].update(allValue=".+"), "allValue '.*'"),
        "variable refresh": (lambda d: d["templating"]["list"][1].update(refresh=1), "refresh 1"),
        "overlap": (lambda d: d["panels"][2]["gridPos"].update(x=d["panels"][1]["gridPos"]["x"],
                                                              y=d["panels"][1]["gridPos"]["y"]), "overlaps"),
        "unknown alert": (lambda d: first(d, "stat").update(description="See KafkaBrokerGone."), "no alert"),
        "panel datasource": (lambda d: first(d, "stat").update(datasource={"type": "prometheus", "uid": "prom"}),
                             "expected {'type'"),
    }
    unnoticed = []
    for what, (breakage, expected) in breakages.items():
        broken = copy.deepcopy(dashboards)
        breakage(broken["kafka-cluster-overview.json"])
        problems, _ = check(broken)
        if not any(expected in p for p in problems):
            unnoticed.append(f"{what} (expected a problem containing {expected!r}; got {problems[:3]})")
    lag = copy.deepcopy(dashboards)
    for p in panels_of(lag["consumer-lag-monitoring.json"]):
        fc = p.get("fieldConfig", {})
        if fc.get("defaults", {}).get("unit") == "s":
            fc["defaults"]["unit"] = "short"
        for o in fc.get("overrides", []):
            for prop in o.get("properties", []):
                if prop.get("id") == "unit" and prop["value"] == "s":
                    prop["value"] = "short"
    if not any("no panel showing seconds" in p for p in check(lag)[0]):
        unnoticed.append("consumer lag without a panel in seconds")
    return unnoticed


def main(argv):
    dashboards = load()
    problems = []
    stale = [name for name, text in generate.render().items()
             if not os.path.exists(os.path.join(REPO, "dashboards", name))
             or open(os.path.join(REPO, "dashboards", name)).read() != text]
    if stale:
        problems.append(f"out of date with dashboards/generate.py (run it): {stale}")
    found, queries = check(dashboards)
    problems += found
    if "--self-test" in argv[1:] and not problems:
        problems += [f"self-test: not reported: {u}" for u in self_test(dashboards)]
    for p in problems:
        print(f"FAIL: {p}")
    if problems:
        return 1
    panels = sum(1 for d in dashboards.values() for p in panels_of(d) if p.get("type") != "row")
    print(f"OK: {len(dashboards)} dashboards, {panels} panels, {queries} queries parsed by promtool"
          + (", every deliberate breakage reported" if "--self-test" in argv[1:] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
