"""What the dashboard and alert checks need to know about a PromQL expression, standard library
only: its tokens, its vector selectors (metric name, label matchers, range, the function the
range is handed to), and which metric names kafka-hub-exporter and the JMX rules publish.

This is not a PromQL parser: promtool parses every expression (check_dashboards.py and
check_alerts.py run it). It only finds the selectors, for the checks that the dashboard-linter
makes with Prometheus's parser (rate ranges, counters inside rate, required matchers) and for
name checks against the README catalogue and config/jmx/kafka-broker.yaml."""

import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "test", "integration"))
from khe_testlib import read_catalogue  # noqa: E402

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<var>\$\{[^}]+\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[^\]]+\]\])
  | (?P<duration>\d+(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*(?![A-Za-z0-9_]))
  | (?P<number>0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>==|!=|>=|<=|=~|!~|[-+*/%^<>=,(){}\[\]:@])
""", re.VERBOSE)

# Words that take a parenthesised list of label names.
_LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_OPERATOR_WORDS = {"and", "or", "unless", "bool", "offset", "atan2"}
_AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                 "bottomk", "topk", "quantile"}
_LITERALS = {"Inf", "inf", "NaN", "nan"}
# Functions and aggregations whose parameter is a range vector handed to them.
RATE_FUNCTIONS = {"rate", "irate"}
COUNTER_FUNCTIONS = {"rate", "irate", "increase", "resets"}


class PromQLError(ValueError):
    pass


def tokens(expr):
    """[(kind, text)] without whitespace; raises PromQLError on a character it cannot read."""
    out, pos = [], 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m:
            raise PromQLError(f"cannot read {expr[pos:pos + 20]!r} at offset {pos}")
        pos = m.end()
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group()))
    return out


class Selector:
    """One vector selector: name (None for {..} only), matchers [(label, op, value)], the range
    text inside [...] (None for an instant selector) and the function the range is given to."""

    def __init__(self, name):
        self.name = name
        self.matchers = []
        self.range = None
        self.function = None

    def matcher(self, label):
        return [(op, value) for name, op, value in self.matchers if name == label]

    def __repr__(self):
        m = ", ".join(f"{k}{op}{v}" for k, op, v in self.matchers)
        r = f"[{self.range}]" if self.range else ""
        return f"{self.name or ''}{{{m}}}{r}"


def selectors(expr):
    """Every vector selector of the expression, in order."""
    toks = tokens(expr)
    found, stack, i = [], [], 0
    pending_call = None  # an aggregation whose "(" may come after its by/without list

    def peek(k):
        return toks[k] if k < len(toks) else (None, None)

    while i < len(toks):
        kind, text = toks[i]
        if kind == "ident" and text in _LABEL_LIST_KEYWORDS:
            i += 1
            if peek(i)[1] == "(":
                depth = 0
                while i < len(toks):
                    depth += {"(": 1, ")": -1}.get(toks[i][1], 0)
                    i += 1
                    if depth == 0:
                        break
            continue
        if kind == "ident" and text in _AGGREGATIONS:
            pending_call = text
            i += 1
            continue
        if kind == "ident" and peek(i + 1)[1] == "(" and text not in _OPERATOR_WORDS:
            pending_call = text
            i += 1
            continue
        if kind == "op" and text == "(":
            stack.append(pending_call)
            pending_call = None
            i += 1
            continue
        if kind == "op" and text == ")":
            if not stack:
                raise PromQLError(f"unbalanced ')' in {expr!r}")
            stack.pop()
            i += 1
            continue
        if kind == "ident" and text == "offset":
            i += 2
            continue
        is_selector = (kind == "ident" and text not in _OPERATOR_WORDS and text not in _LITERALS) \
            or (kind == "op" and text == "{")
        if not is_selector:
            i += 1
            continue
        sel = Selector(text if kind == "ident" else None)
        if kind == "ident":
            i += 1
        if peek(i)[1] == "{":
            i += 1
            while peek(i)[1] != "}":
                if peek(i)[1] is None:
                    raise PromQLError(f"unclosed '{{' in {expr!r}")
                if peek(i)[1] == ",":
                    i += 1
                    continue
                label, op, value = toks[i][1], peek(i + 1)[1], peek(i + 2)[1]
                if op not in ("=", "!=", "=~", "!~") or peek(i + 2)[0] != "string":
                    raise PromQLError(f"bad matcher near {label!r} in {expr!r}")
                sel.matchers.append((label, op, value[1:-1]))
                i += 3
            i += 1
        if peek(i)[1] == "[":
            j = i + 1
            while peek(j)[1] not in ("]", None):
                j += 1
            sel.range = "".join(t for _, t in toks[i + 1:j])
            sel.function = stack[-1] if stack else None
            i = j + 1
        found.append(sel)
    if stack:
        raise PromQLError(f"unbalanced '(' in {expr!r}")
    return found


def variables(text):
    """Names of the Grafana variables used in a string ($x, ${x}, ${x:fmt}, [[x]])."""
    names = set()
    for m in re.finditer(r"\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\]",
                         text):
        names.add(next(g for g in m.groups() if g))
    return names


def substitute(expr, values, rate_interval="1m", range_="1h", interval="30s"):
    """The expression with Grafana's variables replaced: `values` maps a variable to its
    (already regex-formatted) value; the built-in interval variables get the given durations."""
    builtins = {"__rate_interval": rate_interval, "__range": range_, "__interval": interval}

    def repl(m):
        name = next(g for g in m.groups() if g)
        if name in builtins:
            return builtins[name]
        if name not in values:
            raise KeyError(f"variable ${name} has no value")
        return values[name]

    return re.sub(r"\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\]",
                  repl, expr)


# --- what the exporter publishes ------------------------------------------------------------

def _jmx_rule_names(path):
    """[(name regex, type)] of the rules in a jmx_exporter rules file, read line by line (the
    file's rules each have one `name:` and one `type:`)."""
    out, lowercase = [], False
    name = None
    with open(path) as f:
        for line in f:
            s = line.strip()
            if s.startswith("lowercaseOutputName:"):
                lowercase = s.split(":", 1)[1].strip() == "true"
            m = re.match(r"^name:\s*(\S+)$", s)
            if m:
                name = m.group(1)
            m = re.match(r"^type:\s*(\w+)$", s)
            if m and name:
                template = name.lower() if lowercase else name
                parts = re.split(r"\$\d+", template)
                pattern = "[a-z0-9_]+".join(re.escape(p) for p in parts)
                out.append((re.compile(f"^{pattern}$"), m.group(1).lower()))
                name = None
    return out


class KnownMetrics:
    """Metric names (and types) that can exist: the README catalogue (kafka-hub-exporter's own
    output, `<key>` rows standing for any mntr key), the JMX rules of the given files, and what
    Prometheus itself adds."""

    PROMETHEUS = {"up": "gauge", "ALERTS": "gauge", "ALERTS_FOR_STATE": "gauge",
                  "scrape_duration_seconds": "gauge", "scrape_samples_scraped": "gauge"}

    def __init__(self, jmx_rules=(os.path.join(REPO, "config", "jmx", "kafka-broker.yaml"),)):
        self.exact, patterns = dict(self.PROMETHEUS), []
        for name, row in read_catalogue().items():
            if "<key>" in name:
                pattern = re.escape(name).replace(re.escape("<key>"), "[a-z0-9_]+")
                patterns.append((re.compile(f"^{pattern}$"), row["type"]))
            else:
                self.exact[name] = row["type"]
                if row["type"] in ("summary", "histogram"):
                    self.exact[name + "_count"] = "counter"
                    self.exact[name + "_sum"] = "counter"
                if row["type"] == "histogram":
                    self.exact[name + "_bucket"] = "counter"
        for path in jmx_rules:
            patterns.extend(_jmx_rule_names(path))
        # The most specific template first: zookeeper_<key>_total before zookeeper_<key>.
        self.patterns = sorted(patterns, key=lambda p: -len(p[0].pattern.replace("[a-z0-9_]+", "")))

    def type_of(self, name):
        """'counter', 'gauge', ... or None when the name cannot exist."""
        if name in self.exact:
            return self.exact[name]
        for pattern, kind in self.patterns:
            if pattern.match(name):
                return kind
        return None
