#!/usr/bin/env python3
"""Checks the Prometheus alert rules in alerts/ (ctest `alerts_promtool`, label unit; needs
promtool from the Debian `prometheus` package; standard library otherwise).

1. `promtool check rules` accepts every rule file.
2. `promtool test rules` passes every test in test/alerts/*.test.yml.
3. Every alert has a unique name, a `for`, `severity` critical or warning, a summary, a
   description and a `runbook_url` that is a path in this repository to a runbook with a
   `## <alert name>` heading; every metric its expression reads is one the exporter or
   config/jmx/kafka-broker.yaml publishes, and counters are read through rate() or increase().
4. The tests can fail. Three mutated copies of the rules run against the same tests; for every
   alert, each mutation must be caught by the test that is there to catch it:
   - the alert never fires: a test expecting it to fire fails;
   - the alert always fires: a test expecting it to stay silent fails;
   - its `for` window is removed: some test fails, so the window that keeps a short disturbance
     (a rolling restart) from paging is checked.

The rule files are read line by line: each rule starts with `      - alert: Name` and has its keys
(`expr`, `for`, `labels`, `annotations`) at the indentation the files use; anything else is
reported as a layout error rather than guessed at.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "test", "dashboards"))
import promql_lite  # noqa: E402

PROMTOOL = os.environ.get("PROMTOOL", shutil.which("promtool") or "/usr/bin/promtool")
RULES = sorted(glob.glob(os.path.join(REPO, "alerts", "*.yaml")))
TESTS = sorted(glob.glob(os.path.join(HERE, "*.test.yml")))
SEVERITIES = {"critical", "warning"}
RULE_START = re.compile(r"^      - alert: (\w+)\s*$")


class Rule:
    """One alerting rule: its line range in the file and the values the checks need."""

    def __init__(self, path, name, start):
        self.path, self.name, self.start, self.end = path, name, start, None
        self.expr, self.expr_lines, self.for_line = None, None, None
        self.labels, self.annotations = {}, {}


def read_rules(path):
    """[Rule] of a rule file; raises ValueError naming file:line on a layout it does not know."""
    with open(path) as f:
        lines = f.read().split("\n")
    rules, current, section = [], None, None

    def fail(i, why):
        raise ValueError(f"{os.path.relpath(path, REPO)}:{i + 1}: {why}")

    i = 0
    while i < len(lines):
        line = lines[i]
        m = RULE_START.match(line)
        if m:
            if current:
                current.end = i
            current = Rule(path, m.group(1), i)
            rules.append(current)
            section = None
            i += 1
            continue
        stripped = line.strip()
        if current is None or not stripped or stripped.startswith("#"):
            i += 1
            continue
        indent = len(line) - len(line.lstrip())
        if indent < 8:
            current.end, current = i, None
            i += 1
            continue
        if indent == 8:
            key, _, value = stripped.partition(":")
            value = value.strip()
            section = None
            if key == "expr":
                if value in ("|", ">", "|-", ">-"):
                    j = i + 1
                    while j < len(lines) and (not lines[j].strip() or
                                              len(lines[j]) - len(lines[j].lstrip()) > 8):
                        j += 1
                    current.expr = "\n".join(l.strip() for l in lines[i + 1:j]).strip()
                    current.expr_lines = (i, j)
                    i = j
                    continue
                current.expr, current.expr_lines = value, (i, i + 1)
            elif key == "for":
                current.for_line = i
                current.for_value = value
            elif key in ("labels", "annotations") and not value:
                section = key
            else:
                fail(i, f"unexpected key {key!r} in rule {current.name}")
            i += 1
            continue
        if indent == 10 and section:
            key, _, value = stripped.partition(":")
            value = value.strip()
            if value in (">-", ">", "|", "|-"):
                j = i + 1
                while j < len(lines) and len(lines[j]) - len(lines[j].lstrip()) > 10 and lines[j].strip():
                    j += 1
                value = " ".join(l.strip() for l in lines[i + 1:j])
                getattr(current, section)[key] = value
                i = j
                continue
            getattr(current, section)[key] = value.strip('"')
            i += 1
            continue
        fail(i, f"unexpected line in rule {current.name}: {stripped!r}")
    if current:
        current.end = len(lines)
    return rules


def run(args, cwd=None):
    p = subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=300)
    return p.returncode, p.stdout + p.stderr


def check_layout(rules, known):
    problems, names = [], {}
    headings = {}
    for r in rules:
        where = f"{os.path.relpath(r.path, REPO)}:{r.start + 1}: {r.name}"
        if r.name in names:
            problems.append(f"{where}: also defined at {names[r.name]}")
        names[r.name] = where
        if r.expr is None:
            problems.append(f"{where}: no expr")
            continue
        if r.for_line is None:
            problems.append(f"{where}: no `for` (write `for: 0s` when the alert must fire at once)")
        if r.labels.get("severity") not in SEVERITIES:
            problems.append(f"{where}: severity {r.labels.get('severity')!r} not in {sorted(SEVERITIES)}")
        for key in ("summary", "description", "runbook_url"):
            if not r.annotations.get(key):
                problems.append(f"{where}: no {key} annotation")
        url = r.annotations.get("runbook_url", "")
        m = re.match(r"^(alerts/runbooks/[\w.-]+\.md)#([\w-]+)$", url)
        if not m:
            problems.append(f"{where}: runbook_url {url!r} is not alerts/runbooks/<file>.md#<anchor>")
        else:
            doc = os.path.join(REPO, m.group(1))
            if doc not in headings:
                headings[doc] = set()
                if os.path.isfile(doc):
                    with open(doc) as f:
                        for line in f:
                            h = re.match(r"^#{1,6}\s+(.+?)\s*$", line)
                            if h:  # GitHub's anchor: lowercase, spaces to dashes, punctuation out
                                anchor = re.sub(r"[^\w\- ]", "", h.group(1).lower()).replace(" ", "-")
                                headings[doc].add(anchor)
            if not os.path.isfile(doc):
                problems.append(f"{where}: runbook {m.group(1)} does not exist")
            elif m.group(2) not in headings[doc]:
                problems.append(f"{where}: {m.group(1)} has no heading for #{m.group(2)}")
            elif m.group(2) != r.name.lower():
                problems.append(f"{where}: runbook anchor #{m.group(2)} is not the alert's name")
        try:
            for sel in promql_lite.selectors(r.expr):
                kind = known.type_of(sel.name) if sel.name else None
                if kind is None:
                    problems.append(f"{where}: {sel.name} is published by nothing this repository knows")
                elif kind == "counter" and sel.function not in promql_lite.COUNTER_FUNCTIONS:
                    problems.append(f"{where}: counter {sel.name} read without rate()/increase()")
        except promql_lite.PromQLError as e:
            problems.append(f"{where}: {e}")
    return problems


def self_test_layout(rules, known):
    """The layout checks must report each of these breakages of a copy of the first rule."""
    import copy
    breakages = {
        "misspelt metric": (lambda r: setattr(r, "expr", r.expr.replace("kafka_", "kafak_", 1)),
                            "published by nothing"),
        "counter without rate": (lambda r: setattr(
            r, "expr", "kafka_server_replicamanager_isrshrinkspersec > 0"), "without rate()"),
        "no severity": (lambda r: r.labels.pop("severity"), "severity None"),
        "info severity": (lambda r: r.labels.update(severity="info"), "severity 'info'"),
        "runbook anchor": (lambda r: r.annotations.update(
            runbook_url=r.annotations["runbook_url"] + "x"), "no heading"),
        "runbook file": (lambda r: r.annotations.update(
            runbook_url="alerts/runbooks/nothing.md#" + r.name.lower()), "does not exist"),
        "no description": (lambda r: r.annotations.pop("description"), "no description"),
        "no for": (lambda r: setattr(r, "for_line", None), "no `for`"),
    }
    unnoticed = []
    for what, (breakage, expected) in breakages.items():
        broken = copy.deepcopy(rules[0])
        breakage(broken)
        if not any(expected in p for p in check_layout([broken], known)):
            unnoticed.append(f"self-test: layout check missed: {what}")
    return unnoticed


def mutated_tree(rules, mutate):
    """A temporary copy of alerts/ and test/alerts/ whose rules are mutated by
    mutate(rule, lines) -> lines (the rule's own lines, replaced in place)."""
    root = tempfile.mkdtemp(prefix="khe-alert-mutants-")
    os.makedirs(os.path.join(root, "alerts"))
    os.makedirs(os.path.join(root, "test", "alerts"))
    for test in TESTS:
        shutil.copy(test, os.path.join(root, "test", "alerts"))
    by_file = {}
    for r in rules:
        by_file.setdefault(r.path, []).append(r)
    for path in RULES:
        with open(path) as f:
            lines = f.read().split("\n")
        for r in sorted(by_file.get(path, []), key=lambda r: -r.start):
            lines[r.start:r.end] = mutate(r, lines[r.start:r.end])
        with open(os.path.join(root, "alerts", os.path.basename(path)), "w") as f:
            f.write("\n".join(lines))
    return root


def replace_expr(expr):
    def mutate(r, lines):
        a, b = r.expr_lines[0] - r.start, r.expr_lines[1] - r.start
        return lines[:a] + [f"        expr: {expr}"] + lines[b:]
    return mutate


def replace_for(value, also_expr=None):
    def mutate(r, lines):
        if also_expr:
            lines = replace_expr(also_expr)(r, lines)
            # replace_expr may have shortened the block: find `for:` again.
        return [f"        for: {value}" if l.startswith("        for:") else l for l in lines]
    return mutate


def failures(output):
    """[(alertname or None, expected_empty, text)] of promtool's failure blocks."""
    out = []
    for block in re.split(r"\n(?=    (?:name|alertname|expr):)", output):
        m = re.search(r"alertname: (\w+), time: [^\n]*\n\s+exp:(\[\]|\[)", block)
        if m:
            out.append((m.group(1), m.group(2) == "[]", block))
        elif "expr:" in block:
            out.append((None, None, block))
    return out


def check_mutants(rules):
    problems = []
    names = [r.name for r in rules]
    timed = [r for r in rules if r.for_line is not None and not re.match(r"^0+[smh]?$", r.for_value)]
    cases = [
        ("never fires", replace_expr("vector(1) == 0"),
         lambda name, fails: any(a == name and not empty for a, empty, _ in fails),
         names, "no test expects it to fire"),
        ("always fires", replace_for("0s", also_expr="vector(1)"),
         lambda name, fails: any(a == name and empty for a, empty, _ in fails),
         names, "no test expects it to stay silent"),
        ("no for window", replace_for("0s"),
         lambda name, fails: any(a == name or (a is None and f'alertname="{name}"' in text)
                                 for a, _, text in fails),
         [r.name for r in timed], "no test notices when its `for` window is removed"),
    ]
    for what, mutate, caught, which, why in cases:
        root = mutated_tree(rules, mutate)
        try:
            tests = sorted(glob.glob(os.path.join(root, "test", "alerts", "*.test.yml")))
            code, output = run([PROMTOOL, "test", "rules", *tests])
        finally:
            shutil.rmtree(root, ignore_errors=True)
        if code == 0:
            problems.append(f"mutant '{what}': every test still passes")
            continue
        fails = failures(output)
        for name in which:
            if not caught(name, fails):
                problems.append(f"{name}: {why} (mutant '{what}' passes its tests)")
    return problems


def main():
    if not os.path.exists(PROMTOOL):
        print(f"promtool not found ({PROMTOOL}): install the Debian package prometheus")
        return 1
    if not RULES or not TESTS:
        print(f"nothing to check: rules {RULES}, tests {TESTS}")
        return 1
    problems = []
    code, output = run([PROMTOOL, "check", "rules", *RULES])
    print(output.strip())
    if code != 0:
        problems.append("promtool check rules failed")
    code, output = run([PROMTOOL, "test", "rules", *TESTS])
    print(output.strip())
    if code != 0:
        problems.append("promtool test rules failed")

    rules = []
    for path in RULES:
        try:
            rules.extend(read_rules(path))
        except ValueError as e:
            problems.append(str(e))
    known = promql_lite.KnownMetrics()
    problems += check_layout(rules, known)
    problems += self_test_layout(rules, known)
    if not problems:
        problems += check_mutants(rules)

    for p in problems:
        print(f"FAIL: {p}")
    if problems:
        return 1
    cases = assertions = 0
    for test in TESTS:
        with open(test) as f:
            text = f.read()
        cases += len(re.findall(r"^  - name: ", text, re.M))
        assertions += len(re.findall(r"^\s+- (?:eval_time|expr): ", text, re.M))
    print(f"OK: {len(rules)} alerts in {len(RULES)} files; {cases} promtool test cases with "
          f"{assertions} assertions in {len(TESTS)} files; every alert has a test that fires it, "
          f"one that keeps it silent, and one that needs its `for` window")
    return 0


if __name__ == "__main__":
    sys.exit(main())
