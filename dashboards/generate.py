#!/usr/bin/env python3
"""Writes the Grafana dashboards in this directory (standard library only):

  python3 dashboards/generate.py          # rewrite the *.json files
  python3 dashboards/generate.py --check  # exit 1 if a committed file differs from this source

The JSON files are what Grafana provisions; this file is where they are edited. One source keeps
the five dashboards consistent: the same `datasource` variable (no ${DS_...} import
placeholders), the same cluster/namespace matchers on every selector, `$__rate_interval` in
every rate, a unit and a description on every panel. test/dashboards/check_dashboards.py checks
the output the way Grafana's dashboard-linter would, plus this project's rules.

Variables select by label, never by instance count: all of them are multi-value with an "All"
value of `.*`, which also matches series that do not carry the label at all (a deployment
without `cluster` or `namespace` labels, brokers whose sidecar sets no `broker`).
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
TAG = "kafka-hub-exporter"
SCOPE = 'cluster=~"$cluster", namespace=~"$namespace"'
# Matchers used inside f-strings (which cannot hold backslashes before Python 3.12).
BROKER_TOTAL = 'topic=""'  # the broker-wide BrokerTopicMetrics series carry no topic label
PER_TOPIC = 'topic!=""'
ERRORS_ONLY = 'error!="NONE"'
PRODUCE = 'request="Produce"'
CONSUMER_FETCH = 'request="FetchConsumer"'
PRODUCE_AND_FETCH = 'request=~"Produce|FetchConsumer|FetchFollower"'
P99 = 'quantile="0.99"'


def sel(metric, *matchers):
    """A selector with the dashboard's cluster/namespace matchers plus the given ones."""
    return metric + "{" + ", ".join((SCOPE,) + matchers) + "}"


def rate(metric, *matchers):
    return f"rate({sel(metric, *matchers)}[$__rate_interval])"


# --- panels -------------------------------------------------------------------------------------

def target(expr, legend="", instant=False, table=False, ref="A"):
    t = {"refId": ref, "datasource": DATASOURCE, "editorMode": "code", "expr": expr,
         "legendFormat": legend or "__auto", "range": not instant, "instant": instant}
    if table:
        t["format"] = "table"
    return t


def value_mappings(states):
    """states: [(value, text, color)]."""
    return [{"type": "value", "options": {
        str(v): {"text": text, "color": color, "index": i} for i, (v, text, color) in enumerate(states)}}]


def thresholds(*steps):
    """steps: base color, then (value, color) pairs."""
    out = [{"color": steps[0], "value": None}]
    out += [{"color": c, "value": v} for v, c in steps[1:]]
    return {"mode": "absolute", "steps": out}


def timeseries(title, description, unit, targets, axis="", min_zero=True, stack=False):
    custom = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never",
              "spanNulls": False, "axisLabel": axis,
              "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
    defaults = {"unit": unit, "custom": custom, "color": {"mode": "palette-classic"}}
    if min_zero:
        defaults["min"] = 0
    return {"type": "timeseries", "title": title, "description": description,
            "datasource": DATASOURCE, "targets": targets,
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": {"legend": {"showLegend": True, "displayMode": "table", "placement": "bottom",
                                   "calcs": ["lastNotNull", "max"]},
                        "tooltip": {"mode": "multi", "sort": "desc"}}}


def stat(title, description, unit, expr, steps=("green",), mappings=None):
    defaults = {"unit": unit, "thresholds": thresholds(*steps), "color": {"mode": "thresholds"},
                "mappings": mappings or []}
    return {"type": "stat", "title": title, "description": description, "datasource": DATASOURCE,
            "targets": [target(expr, instant=True)],
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "background", "graphMode": "none", "textMode": "value",
                        "justifyMode": "center", "orientation": "auto"}}


def state_timeline(title, description, expr, legend, states):
    defaults = {"unit": "none", "mappings": value_mappings(states), "color": {"mode": "thresholds"},
                "thresholds": thresholds("grey"), "custom": {"fillOpacity": 80, "lineWidth": 0}}
    return {"type": "state-timeline", "title": title, "description": description,
            "datasource": DATASOURCE, "targets": [target(expr, legend)],
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": {"showValue": "auto", "mergeValues": True, "rowHeight": 0.8,
                        "legend": {"showLegend": False, "displayMode": "list", "placement": "bottom"},
                        "tooltip": {"mode": "single", "sort": "none"}}}


def table(title, description, columns, hide=(), unit="short", sort=None):
    """columns: [(expr, header, unit or None, mappings or None)], instant queries merged on
    their common labels."""
    targets, overrides, rename = [], [], {}
    multi = len(columns) > 1
    for i, (expr, header, col_unit, mappings) in enumerate(columns):
        ref = chr(ord("A") + i)
        targets.append(target(expr, instant=True, table=True, ref=ref))
        field = f"Value #{ref}" if multi else "Value"
        if header:
            rename[field] = header
        props = []
        if col_unit:
            props.append({"id": "unit", "value": col_unit})
        if mappings:
            props.append({"id": "mappings", "value": mappings})
            props.append({"id": "custom.cellOptions", "value": {"type": "color-background"}})
        if props:
            overrides.append({"matcher": {"id": "byName", "options": field}, "properties": props})
        elif not header:
            hide = tuple(hide) + (field,)
    exclude = {k: True for k in ("Time", "__name__", "job", "instance", "endpoint", "pod",
                                 "service", "container") + tuple(hide)}
    transformations = ([{"id": "merge", "options": {}}] if multi else []) + [
        {"id": "organize", "options": {"excludeByName": exclude, "renameByName": rename}}]
    options = {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}}
    if sort:
        options["sortBy"] = [{"displayName": sort, "desc": True}]
    return {"type": "table", "title": title, "description": description, "datasource": DATASOURCE,
            "targets": targets, "transformations": transformations,
            "fieldConfig": {"defaults": {"unit": unit, "custom": {"align": "auto"}},
                            "overrides": overrides},
            "options": options}


# --- dashboards ---------------------------------------------------------------------------------

def variable(name, query, label=None):
    return {"name": name, "label": label or name.capitalize(), "type": "query",
            "datasource": DATASOURCE, "query": query, "definition": query,
            "refresh": 2, "regex": "", "sort": 1, "hide": 0,
            "multi": True, "includeAll": True, "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "options": []}


def scoped_variable(name, metric, label=None):
    return variable(name, f"label_values({metric}{{{SCOPE}}}, {name})", label)


COMMON_VARIABLES = [
    {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
     "regex": "", "refresh": 1, "hide": 0, "multi": False, "includeAll": False, "current": {},
     "options": []},
    variable("cluster", "label_values(kafka_hub_exporter_build_info, cluster)"),
    variable("namespace",
             'label_values(kafka_hub_exporter_build_info{cluster=~"$cluster"}, namespace)'),
]


class Dashboard:
    """Lays panels out left to right on Grafana's 24-column grid, rows starting a new line."""

    def __init__(self, uid, title, description, variables=()):
        self.uid, self.title, self.description = uid, title, description
        self.variables = COMMON_VARIABLES + list(variables)
        self.panels, self.x, self.y, self.row_height = [], 0, 0, 0

    def row(self, title):
        self._newline()
        self.panels.append({"type": "row", "title": title, "collapsed": False, "panels": [],
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}})
        self.y += 1
        return self

    def add(self, panel, w=12, h=8):
        if self.x + w > 24:
            self._newline()
        panel["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.panels.append(panel)
        self.x += w
        self.row_height = max(self.row_height, h)
        return self

    def _newline(self):
        if self.x:
            self.y += self.row_height
        self.x, self.row_height = 0, 0

    def json(self):
        panels = []
        for i, p in enumerate(self.panels, start=1):
            p = dict(p)
            p["id"] = i
            panels.append(p)
        return {
            "id": None, "uid": self.uid, "title": self.title, "description": self.description,
            "tags": ["kafka", TAG], "editable": False, "graphTooltip": 1, "liveNow": False,
            "refresh": "30s", "schemaVersion": 39, "version": 1, "timezone": "browser",
            "time": {"from": "now-3h", "to": "now"}, "timepicker": {}, "weekStart": "",
            "fiscalYearStartMonth": 0,
            "annotations": {"list": [{
                "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
                "name": "Annotations & Alerts", "type": "dashboard"}]},
            "links": [{"type": "dashboards", "title": "Kafka dashboards", "tags": [TAG],
                       "asDropdown": True, "includeVars": True, "keepTime": True,
                       "icon": "external link", "targetBlank": False, "tooltip": "", "url": ""}],
            "templating": {"list": self.variables},
            "panels": panels,
        }


STATUS_OK_ERR = [(0, "DOWN", "red"), (1, "OK", "green")]
PARTITION_STATUS = [(1, "OK", "green"), (2, "WARN", "yellow"), (4, "STOP", "red"),
                    (5, "STALL", "red"), (6, "REWIND", "orange")]
GROUP_STATUS = [(1, "OK", "green"), (2, "WARN", "yellow"), (3, "ERR", "red")]


def cluster_overview():
    b = 'broker=~"$broker"'
    d = Dashboard(
        "kafka-hub-cluster-overview", "Kafka Cluster Overview",
        "Brokers, controller, partitions, throughput, latency and JVM of the Kafka cluster "
        "(JMX through kafka-hub-exporter's Jolokia bridge, cluster metadata from its Kafka "
        "collector). Alerts: alerts/kafka-brokers.yaml, alerts/kafka-partitions.yaml.",
        [scoped_variable("broker", "kafka_hub_exporter_jmx_target_up")])
    d.row("Cluster health")
    d.add(stat("Brokers online",
               "Brokers in the cluster metadata, the brokers' own view of who is alive (Kafka "
               "collector). A broker missing here for 5 minutes fires KafkaBrokerDown.",
               "none", f"count(count by (id) ({sel('kafka_broker_info')}))", ("blue",)), 4, 4)
    d.add(stat("Active controllers",
               "Brokers reporting ActiveControllerCount 1: exactly one is healthy, 0 fires "
               "KafkaNoActiveController, 2 or more KafkaMultipleActiveControllers.",
               "none", f"sum({sel('kafka_controller_kafkacontroller_activecontrollercount')})",
               ("red", (1, "green"), (2, "red"))), 4, 4)
    d.add(stat("Offline partitions",
               "Partitions without a leader, as counted by the active controller "
               "(KafkaOfflinePartitions).",
               "none", f"max({sel('kafka_controller_kafkacontroller_offlinepartitionscount')})",
               ("green", (1, "red"))), 4, 4)
    d.add(stat("Under-replicated partitions",
               "Partitions whose in-sync replicas are fewer than their replicas, summed over the "
               "leaders (KafkaUnderReplicatedPartitions).",
               "none", f"sum({sel('kafka_server_replicamanager_underreplicatedpartitions')})",
               ("green", (1, "orange"))), 4, 4)
    d.add(stat("Partitions under min ISR",
               "Partitions with fewer in-sync replicas than min.insync.replicas: acks=all "
               "producers fail on them (KafkaUnderMinIsrPartitions).",
               "none", f"sum({sel('kafka_server_replicamanager_underminisrpartitioncount')})",
               ("green", (1, "red"))), 4, 4)
    d.add(stat("ZooKeeper quorum",
               "Whether the ZooKeeper ensemble has a serving majority with one leader "
               "(ZookeeperNoQuorum). Details on the Zookeeper Cluster dashboard.",
               "none", f"min({sel('zookeeper_ensemble_has_quorum')})", ("grey",),
               value_mappings([(0, "LOST", "red"), (1, "OK", "green")])), 4, 4)

    d.row("Throughput")
    d.add(timeseries("Messages in per broker",
                     "Messages appended per second on each broker (BrokerTopicMetrics "
                     "MessagesInPerSec, all topics).",
                     "short", [target(f"sum by (broker) ({rate('kafka_server_brokertopicmetrics_messagesinpersec', b, BROKER_TOTAL)})", "{{broker}}")],
                     axis="messages/s"))
    d.add(timeseries("Bytes in / out per broker",
                     "Bytes received from producers and sent to consumers per second on each "
                     "broker (replication traffic not included).",
                     "Bps", [target(f"sum by (broker) ({rate('kafka_server_brokertopicmetrics_bytesinpersec', b, BROKER_TOTAL)})", "{{broker}} in", ref="A"),
                             target(f"sum by (broker) ({rate('kafka_server_brokertopicmetrics_bytesoutpersec', b, BROKER_TOTAL)})", "{{broker}} out", ref="B")]))
    d.add(timeseries("Requests per second by type",
                     "Requests received per second by request type, all selected brokers; types "
                     "with no requests are left out.",
                     "reqps", [target(f"sum by (request) ({rate('kafka_network_requestmetrics_requestspersec', b)}) > 0", "{{request}}")]))
    d.add(timeseries("Error responses per second",
                     "Responses carrying an error code, per request type and error (NONE left "
                     "out). NOT_LEADER_OR_FOLLOWER bursts follow leadership changes.",
                     "reqps", [target(f"sum by (request, error) ({rate('kafka_network_requestmetrics_errorspersec', b, ERRORS_ONLY)})", "{{request}} {{error}}")]))

    d.row("Latency")
    d.add(timeseries("Produce and fetch latency p99",
                     "99th percentile of the total request time per broker for produce, consumer "
                     "fetch and follower fetch. A consumer fetch includes the long poll the "
                     "consumer asks for (fetch.max.wait.ms, 500 ms), so an idle topic shows ~500 ms.",
                     "ms", [target(f"max by (broker, request) ({sel('kafka_network_requestmetrics_totaltimems', b, PRODUCE_AND_FETCH, P99)})", "{{broker}} {{request}}")]))
    parts = " + ".join(
        f"max by (broker) ({sel(f'kafka_network_requestmetrics_{part}', b, CONSUMER_FETCH, P99)})"
        for part in ("requestqueuetimems", "localtimems", "responsequeuetimems", "responsesendtimems"))
    d.add(timeseries("Consumer fetch time without the long-poll wait",
                     "What KafkaFetchLatencyHigh watches: request queue + local read + response "
                     "queue + send time of consumer fetches, 99th percentiles summed (an upper "
                     "bound of the p99 of the sum), leaving out the consumer's own long poll.",
                     "ms", [target(parts, "{{broker}}")]))
    d.add(timeseries("Produce time by stage p99",
                     "Where produce requests spend their time, 99th percentiles: waiting for a "
                     "handler (request queue), writing the log (local), waiting for followers "
                     "with acks=all (remote), then response queue and send.",
                     "ms", [target(f"max by (broker) ({sel(f'kafka_network_requestmetrics_{part}', b, PRODUCE, P99)})", f"{{{{broker}}}} {label}", ref=chr(65 + i))
                            for i, (part, label) in enumerate((("requestqueuetimems", "request queue"), ("localtimems", "local"), ("remotetimems", "remote"), ("responsequeuetimems", "response queue"), ("responsesendtimems", "send")))]))
    d.add(timeseries("Request and response queues",
                     "Requests waiting for a handler thread and responses waiting for a network "
                     "thread on each broker: a growing request queue means busy handlers.",
                     "short", [target(f"max by (broker) ({sel('kafka_network_requestchannel_requestqueuesize', b)})", "{{broker}} requests", ref="A"),
                               target(f"max by (broker) ({sel('kafka_network_requestchannel_responsequeuesize', b)})", "{{broker}} responses", ref="B")],
                     axis="requests"))
    d.add(timeseries("Request handler idle",
                     "Average fraction of time the request handler threads (num.io.threads) are "
                     "idle; below 20% for 15 minutes fires KafkaRequestHandlerIdleLow.",
                     "percentunit", [target(f"max by (broker) ({sel('kafka_server_kafkarequesthandlerpool_requesthandleravgidlepercent', b)})", "{{broker}}")]))
    d.add(timeseries("Network processor idle",
                     "Average fraction of time the network threads (num.network.threads) are idle; "
                     "below 30% for 15 minutes fires KafkaNetworkProcessorIdleLow.",
                     "percentunit", [target(f"max by (broker) ({sel('kafka_network_socketserver_networkprocessoravgidlepercent', b)})", "{{broker}}")]))

    d.row("Replication")
    d.add(timeseries("Under-replicated partitions per broker",
                     "Partitions each broker leads whose ISR is smaller than their replica set.",
                     "short", [target(f"sum by (broker) ({sel('kafka_server_replicamanager_underreplicatedpartitions', b)})", "{{broker}}")],
                     axis="partitions"), 8)
    d.add(timeseries("ISR shrinks and expands",
                     "Followers removed from (shrinks) and added back to (expands) the ISR of the "
                     "partitions each broker leads, per second. One burst per broker restart is "
                     "normal; continuous shrinks fire KafkaIsrShrinking.",
                     "short", [target(f"sum by (broker) ({rate('kafka_server_replicamanager_isrshrinkspersec', b)})", "{{broker}} shrinks", ref="A"),
                               target(f"sum by (broker) ({rate('kafka_server_replicamanager_isrexpandspersec', b)})", "{{broker}} expands", ref="B")],
                     axis="changes/s"), 8)
    d.add(timeseries("Partitions and leaders per broker",
                     "Replicas each broker holds and partitions it leads: uneven leader counts mean "
                     "uneven load (preferred leader election rebalances them).",
                     "short", [target(f"max by (broker) ({sel('kafka_server_replicamanager_partitioncount', b)})", "{{broker}} partitions", ref="A"),
                               target(f"max by (broker) ({sel('kafka_server_replicamanager_leadercount', b)})", "{{broker}} leaders", ref="B")],
                     axis="partitions"), 8)
    d.add(timeseries("Replica fetcher max lag",
                     "Messages the slowest follower partition of each broker is behind its leader.",
                     "short", [target(f"max by (broker) ({sel('kafka_server_replicafetchermanager_maxlag', b)})", "{{broker}}")],
                     axis="messages"), 8)
    d.add(timeseries("Leader elections",
                     "Leader elections per second made by the controller (rolling restarts and "
                     "broker failures cause bursts).",
                     "short", [target(f"sum({rate('kafka_controller_controllerstats_leaderelectionrateandtimems')})", "elections")],
                     axis="elections/s"), 8)
    d.add(stat("Unclean leader elections",
               "Unclean leader elections in the selected time range: each one lost acknowledged "
               "messages (KafkaUncleanLeaderElections).",
               "none", f"sum(increase({sel('kafka_controller_controllerstats_uncleanleaderelectionspersec')}[$__range]))",
               ("green", (1, "red"))), 4, 8)
    d.add(stat("Offline log directories",
               "Log directories the selected brokers have taken offline after I/O errors "
               "(KafkaOfflineLogDirectories).",
               "none", f"sum({sel('kafka_log_logmanager_offlinelogdirectorycount', b)})",
               ("green", (1, "red"))), 4, 8)

    d.row("End-to-end probe")
    q = "histogram_quantile({}, sum by ({}le) ({}))"
    e2e = rate("kafka_probe_end_to_end_latency_seconds_bucket")
    produce = rate("kafka_probe_produce_latency_seconds_bucket")
    d.add(timeseries("Probe latency",
                     "What a client of the cluster experiences, from the exporter's probe (one "
                     "message per partition per second): time to acknowledgement (produce) and "
                     "to receipt by a consumer (end-to-end), 50th and 99th percentiles "
                     "(KafkaProbeProduceLatencyHigh, KafkaProbeEndToEndLatencyHigh).",
                     "s", [target(q.format(0.99, "", e2e), "end-to-end p99", ref="A"),
                           target(q.format(0.5, "", e2e), "end-to-end p50", ref="B"),
                           target(q.format(0.99, "", produce), "produce p99", ref="C"),
                           target(q.format(0.5, "", produce), "produce p50", ref="D")]))
    d.add(timeseries("Probe produce latency p99 per leader",
                     "99th percentile of the probe's time to acknowledgement, per broker leading "
                     "the partition (broker ids from the cluster metadata).",
                     "s", [target(q.format(0.99, "broker, ", produce), "broker {{broker}}")]))
    d.add(timeseries("Probe messages by outcome",
                     "Probe messages per second: produced, received back, failed (not "
                     "acknowledged), lost (acknowledged, not received in time), late (lost ones "
                     "that came after all), duplicated.",
                     "short", [target(f"sum({rate(f'kafka_probe_messages_{k}_total')})", k, ref=chr(65 + i))
                               for i, k in enumerate(("produced", "received", "failed", "lost", "late", "duplicated"))],
                     axis="messages/s"), 8)
    d.add(timeseries("Probe failures and losses per leader",
                     "Failed and lost probe messages per second by the broker that led the "
                     "partition (KafkaProbeMessagesFailing, KafkaProbeMessagesLost).",
                     "short", [target(f"sum by (broker) ({rate('kafka_probe_messages_failed_total')})", "broker {{broker}} failed", ref="A"),
                               target(f"sum by (broker) ({rate('kafka_probe_messages_lost_total')})", "broker {{broker}} lost", ref="B")],
                     axis="messages/s"), 8)
    d.add(timeseries("Probe partitions led per broker",
                     "Partitions of the probe topic each broker leads now; 0 means the probe does "
                     "not exercise that broker until leadership comes back.",
                     "short", [target(f"max by (broker) ({sel('kafka_probe_broker_led_partitions')})", "broker {{broker}}")],
                     axis="partitions"), 4)
    d.add(stat("Brokers the probe misses",
               "Brokers that are the preferred leader of no probe partition "
               "(KafkaProbeBrokersUncovered).",
               "none", f"max({sel('kafka_probe_topic_uncovered_brokers')})", ("green", (1, "orange"))), 4)

    d.row("JVM and resources")
    d.add(timeseries("JVM heap used",
                     "Heap in use and its maximum per broker (KafkaBrokerHeapUsageHigh above 90% "
                     "for 15 minutes).",
                     "bytes", [target(f"max by (broker) ({sel('java_lang_memory_heapmemoryusage_used', b)})", "{{broker}} used", ref="A"),
                               target(f"max by (broker) ({sel('java_lang_memory_heapmemoryusage_max', b)})", "{{broker}} max", ref="B")]), 8)
    d.add(timeseries("Time spent in GC",
                     "Fraction of wall time each broker's JVM spends in garbage collection, per "
                     "collector (the exporter's JVM series, whatever the rules file).",
                     "percentunit", [target(f"sum by (broker, gc) ({rate('jvm_gc_collection_seconds_sum', b)})", "{{broker}} {{gc}}")]), 8)
    d.add(timeseries("File descriptors used",
                     "Open file descriptors of each broker as a fraction of its limit "
                     "(KafkaBrokerFileDescriptorsNearLimit above 80%).",
                     "percentunit", [target(f"max by (broker) ({sel('java_lang_operatingsystem_openfiledescriptorcount', b)}) / max by (broker) ({sel('java_lang_operatingsystem_maxfiledescriptorcount', b)})", "{{broker}}")]), 8)
    d.add(timeseries("Broker CPU",
                     "CPU used by each broker's JVM, in cores (1.0 = one full core).",
                     "percentunit", [target(f"sum by (broker) ({rate('jvm_process_cpu_seconds_total', b)})", "{{broker}}")]), 12)
    d.add(timeseries("Connections per broker",
                     "Open client and inter-broker connections on each broker, all listeners.",
                     "short", [target(f"sum by (broker) ({sel('kafka_server_socket_server_metrics_connection_count', b)})", "{{broker}}")],
                     axis="connections"), 12)
    return d


def topics():
    t = 'topic=~"$topic"'
    d = Dashboard(
        "kafka-hub-topics", "Kafka Topics",
        "Per-topic traffic, partitions, replication and size. Traffic and size come from the "
        "brokers' JMX (Jolokia bridge); partitions, replication and offsets from the cluster "
        "metadata read by kafka-hub-exporter's Kafka collector.",
        [scoped_variable("topic", "kafka_topic_partitions")])
    d.row("Traffic")
    d.add(timeseries("Messages in per topic",
                     "Messages appended per second to each topic, all brokers (JMX).",
                     "short", [target(f"sum by (topic) ({rate('kafka_server_brokertopicmetrics_messagesinpersec', t, PER_TOPIC)})", "{{topic}}")],
                     axis="messages/s"))
    d.add(timeseries("Messages produced per topic (from offsets)",
                     "Growth of the topics' log end offsets per second, from the exporter's "
                     "watermark reads: the same traffic without JMX.",
                     "short", [target(f"sum by (topic) ({rate('kafka_partition_latest_offset', t)})", "{{topic}}")],
                     axis="messages/s"))
    d.add(timeseries("Bytes in per topic",
                     "Bytes produced to each topic per second, all brokers.",
                     "Bps", [target(f"sum by (topic) ({rate('kafka_server_brokertopicmetrics_bytesinpersec', t, PER_TOPIC)})", "{{topic}}")]))
    d.add(timeseries("Bytes out per topic",
                     "Bytes fetched by consumers from each topic per second, all brokers.",
                     "Bps", [target(f"sum by (topic) ({rate('kafka_server_brokertopicmetrics_bytesoutpersec', t, PER_TOPIC)})", "{{topic}}")]))

    d.row("Partitions and replication")
    d.add(table("Topic overview",
                "One line per topic: partitions, under-replicated and offline partitions, the "
                "smallest ISR, size on disk summed over all replicas, and messages retained "
                "(log end minus log start offsets).",
                [(f"sum by (topic) ({sel('kafka_topic_partitions', t)})", "Partitions", "none", None),
                 (f"sum by (topic) ({sel('kafka_topic_under_replicated_partitions', t)})", "Under-replicated", "none", None),
                 (f"sum by (topic) ({sel('kafka_topic_offline_partitions', t)})", "Offline", "none", None),
                 (f"min by (topic) ({sel('kafka_topic_partition_in_sync_replica', t)})", "Smallest ISR", "none", None),
                 (f"sum by (topic) ({sel('kafka_log_log_size', t)})", "Size on disk", "bytes", None),
                 (f"sum by (topic) ({sel('kafka_partition_latest_offset', t)} - {sel('kafka_partition_earliest_offset', t)})", "Messages retained", "short", None)],
                sort="Size on disk"), 24, 9)
    d.add(timeseries("Under-replicated partitions per topic",
                     "Partitions of each topic whose ISR is smaller than their replica set "
                     "(cluster metadata).",
                     "short", [target(f"sum by (topic) ({sel('kafka_topic_under_replicated_partitions', t)})", "{{topic}}")],
                     axis="partitions"), 8)
    d.add(timeseries("Smallest in-sync replica count per topic",
                     "The fewest in-sync replicas among each topic's partitions: at "
                     "min.insync.replicas a topic is one failure away from rejecting acks=all writes.",
                     "short", [target(f"min by (topic) ({sel('kafka_topic_partition_in_sync_replica', t)})", "{{topic}}")],
                     axis="replicas"), 8)
    d.add(timeseries("Partitions not led by their preferred replica",
                     "Partitions of each topic whose leader is not the first replica: left after "
                     "restarts until a preferred leader election.",
                     "short", [target(f"sum by (topic) (1 - {sel('kafka_topic_partition_leader_is_preferred', t)})", "{{topic}}")],
                     axis="partitions"), 8)
    d.add(timeseries("Partition leaders per broker",
                     "How many partitions of the selected topics each broker leads (-1: no leader).",
                     "short", [target(f"count_values(\"leader\", {sel('kafka_topic_partition_leader', t)})", "broker {{leader}}")],
                     axis="partitions"), 8)
    d.add(timeseries("Log size per topic",
                     "Bytes on disk per topic, summed over every replica on every broker (JMX Log "
                     "Size).",
                     "bytes", [target(f"sum by (topic) ({sel('kafka_log_log_size', t)})", "{{topic}}")]), 8)
    d.add(stat("Partitions without readable offsets",
               "Partitions whose offsets the exporter could not read in its last poll (no "
               "leader, broker timed out): their lag is unknown until they come back.",
               "none", f"count({sel('kafka_hub_exporter_partition_offsets_unavailable', t)}) or vector(0)",
               ("green", (1, "orange"))), 8, 8)
    return d


def consumer_lag():
    g, t = 'group=~"$group"', 'topic=~"$topic"'
    d = Dashboard(
        "kafka-hub-consumer-lag", "Consumer Lag Monitoring",
        "Consumer groups: lag in messages (log end minus committed offset, what "
        "kafka-consumer-groups --describe prints) and in seconds (age of the oldest unread "
        "message), Burrow-style status per group and partition, members and rates. Alerts: "
        "alerts/kafka-consumer-lag.yaml.",
        [scoped_variable("group", "kafka_consumergroup_group_info"),
         scoped_variable("topic", "kafka_topic_partitions")])
    d.row("Overview")
    d.add(stat("Consumer groups",
               "Consumer groups the exporter sees (after its allow and deny lists).",
               "none", f"count({sel('kafka_consumergroup_group_info', g)})", ("blue",)), 6, 4)
    d.add(stat("Groups not OK",
               "Groups whose status is WARN or ERR (a partition in STOP, STALL or REWIND).",
               "none", f"count({sel('kafka_consumergroup_group_status', g)} > 1) or vector(0)",
               ("green", (1, "orange"))), 6, 4)
    d.add(stat("Largest lag (messages)",
               "The most lagging partition of the selected groups, in messages.",
               "short", f"max({sel('kafka_consumergroup_group_max_lag', g)})",
               ("green", (10000, "orange"))), 6, 4)
    d.add(stat("Largest lag (seconds)",
               "Age of the oldest unread message of the selected groups.",
               "s", f"max({sel('kafka_consumergroup_group_max_lag_seconds', g)})",
               ("green", (300, "orange"))), 6, 4)

    d.row("Lag")
    d.add(timeseries("Max lag per group (messages)",
                     "Messages the most lagging partition of each group is behind "
                     "(KafkaConsumerLagHigh above 10,000 for 10 minutes).",
                     "short", [target(f"max by (group) ({sel('kafka_consumergroup_group_max_lag', g)})", "{{group}}")],
                     axis="messages"))
    d.add(timeseries("Max lag per group (seconds)",
                     "Age of the oldest unread message of each group: the record's own timestamp "
                     "where it could be read, else interpolated from the log end offsets seen "
                     "(KafkaConsumerLagSecondsHigh above 5 minutes for 5 minutes).",
                     "s", [target(f"max by (group) ({sel('kafka_consumergroup_group_max_lag_seconds', g)})", "{{group}}")]))
    d.add(timeseries("Lag per group and topic (messages)",
                     "Sum of the partition lags of each group on each topic.",
                     "short", [target(f"sum by (group, topic) ({sel('kafka_consumergroup_group_topic_sum_lag', g, t)})", "{{group}} / {{topic}}")],
                     axis="messages"))
    d.add(timeseries("Lag per group and topic (seconds)",
                     "Largest partition lag in seconds of each group on each topic.",
                     "s", [target(f"max by (group, topic) ({sel('kafka_consumergroup_group_lag_seconds', g, t)})", "{{group}} / {{topic}}")]))

    d.row("Status")
    d.add(state_timeline("Group status",
                         "Burrow's evaluation of each group over its last commits: OK, WARN (lag "
                         "keeps growing), ERR (a partition in STOP, STALL or REWIND).",
                         f"max by (group) ({sel('kafka_consumergroup_group_status', g)})", "{{group}}",
                         GROUP_STATUS), 24, 7)
    d.add(table("Partitions: status, lag and owner",
                "Every partition of the selected groups and topics: Burrow's status (OK, WARN, "
                "STOP = no commits while messages wait, STALL = offsets not moving, REWIND = "
                "offsets went back), lag in messages and seconds, and the member that owns it.",
                [(f"max by (group, topic, partition) ({sel('kafka_consumergroup_partition_status', g, t)})", "Status", "none", value_mappings(PARTITION_STATUS)),
                 (f"max by (group, topic, partition, client_id, member_host) ({sel('kafka_consumergroup_group_lag', g, t)})", "Lag (messages)", "short", None),
                 (f"max by (group, topic, partition) ({sel('kafka_consumergroup_group_lag_seconds', g, t)})", "Lag (seconds)", "s", None)],
                sort="Lag (seconds)"), 24, 10)

    d.row("Rates and members")
    d.add(timeseries("Consumption rate per group and topic",
                     "Messages committed per second by each group on each topic (slope of the "
                     "committed offsets; negative after an offset reset).",
                     "short", [target(f"sum by (group, topic) (deriv({sel('kafka_consumergroup_group_offset', g, t)}[$__rate_interval]))", "{{group}} / {{topic}}")],
                     axis="messages/s", min_zero=False))
    d.add(timeseries("Production rate of the topics",
                     "Messages produced per second to the selected topics (growth of their log "
                     "end offsets): a group keeps up when it consumes as fast.",
                     "short", [target(f"sum by (topic) ({rate('kafka_partition_latest_offset', t)})", "{{topic}}")],
                     axis="messages/s"))
    d.add(timeseries("Members per group",
                     "Consumers in each group; 0 with lag means nobody consumes (status STOP).",
                     "short", [target(f"max by (group) ({sel('kafka_consumergroup_group_members', g)})", "{{group}}")],
                     axis="members"))
    d.add(table("Group state",
                "Each group's state as the coordinator reports it (Stable, Empty, "
                "PreparingRebalance, ...), its assignor and its coordinator broker.",
                [(f"max by (group, state, protocol, coordinator_id) ({sel('kafka_consumergroup_group_info', g)})", "", None, None)]))
    return d


def zookeeper():
    s = 'server=~"$server"'
    d = Dashboard(
        "kafka-hub-zookeeper", "Zookeeper Cluster",
        "The ZooKeeper ensemble as kafka-hub-exporter sees it through four-letter words on every "
        "server (ruok, srvr, mntr, isro), plus Kafka's registrations in it. Alerts: "
        "alerts/zookeeper.yaml.",
        [scoped_variable("server", "zookeeper_up")])
    d.row("Ensemble")
    d.add(stat("Quorum",
               "A serving majority of voters with exactly one leader (ZookeeperNoQuorum).",
               "none", f"min({sel('zookeeper_ensemble_has_quorum')})", ("grey",),
               value_mappings([(0, "LOST", "red"), (1, "OK", "green")])), 4, 4)
    d.add(stat("Leaders",
               "Serving servers in state leader: 1 is healthy, 0 means an election or no quorum, "
               "2 a split ensemble (ZookeeperMultipleLeaders).",
               "none", f"max({sel('zookeeper_ensemble_leaders')})",
               ("red", (1, "green"), (2, "red"))), 4, 4)
    d.add(stat("Servers serving",
               "Servers that answer and serve requests, out of the configured members.",
               "none", f"min({sel('zookeeper_ensemble_servers_serving')})", ("blue",)), 4, 4)
    d.add(stat("Synced followers",
               "Followers in sync with the leader (the leader's mntr), out of quorum size - 1.",
               "none", f"min({sel('zookeeper_ensemble_synced_followers')})", ("blue",)), 4, 4)
    d.add(stat("Kafka brokers registered",
               "Brokers registered under /brokers/ids (ephemeral znodes: live brokers).",
               "none", f"max({sel('kafka_zookeeper_brokers')})", ("blue",)), 4, 4)
    d.add(stat("Kafka controller",
               "Broker id in /controller; -1 when there is none (KafkaNoActiveController).",
               "none", f"max({sel('kafka_zookeeper_controller_id')})", ("red", (0, "blue"))), 4, 4)

    d.row("Servers")
    d.add(state_timeline("Server up and serving",
                         "Per server: DOWN (no answer), NOT SERVING (answers, outside any quorum), "
                         "SERVING.",
                         f"min by (server) ({sel('zookeeper_up', s)}) + min by (server) ({sel('zookeeper_serving', s)})",
                         "{{server}}", [(0, "DOWN", "red"), (1, "NOT SERVING", "orange"), (2, "SERVING", "green")]), 12, 8)
    d.add(table("Server roles",
                "Each answering server's role (leader, follower, observer, standalone, "
                "not_serving) and version, from srvr.",
                [(f"max by (server, state, version) ({sel('zookeeper_server_info', s)})", "", None, None)]), 8, 8)
    d.add(stat("Four-letter word failures",
               "Words that failed on the selected servers in the last poll (connect, timeout, "
               "not whitelisted, ...).",
               "none", f"count({sel('zookeeper_command_error', s)}) or vector(0)",
               ("green", (1, "orange"))), 4, 8)

    d.row("Load and latency")
    d.add(timeseries("Outstanding requests",
                     "Requests queued on each server (ZookeeperOutstandingRequestsHigh above 10 "
                     "for 5 minutes).",
                     "short", [target(f"max by (server) ({sel('zookeeper_srvr_outstanding_requests', s)})", "{{server}}")],
                     axis="requests"))
    d.add(timeseries("Request latency",
                     "Average time of the reads and writes each server answered in the interval "
                     "(from ZooKeeper's latency summaries; needs mntr). ZookeeperLatencyHigh "
                     "watches both together.",
                     "ms", [target(f"sum by (server) ({rate('zookeeper_sum_readlatency_total', s)}) / sum by (server) ({rate('zookeeper_cnt_readlatency_total', s)})", "{{server}} read", ref="A"),
                            target(f"sum by (server) ({rate('zookeeper_sum_updatelatency_total', s)}) / sum by (server) ({rate('zookeeper_cnt_updatelatency_total', s)})", "{{server}} write", ref="B")]))
    d.add(timeseries("Packets received and sent",
                     "Packets per second each server received from and sent to its clients (srvr).",
                     "pps", [target(f"sum by (server) ({rate('zookeeper_srvr_received_total', s)})", "{{server}} received", ref="A"),
                             target(f"sum by (server) ({rate('zookeeper_srvr_sent_total', s)})", "{{server}} sent", ref="B")]))
    d.add(timeseries("Connections",
                     "Client connections per server (Kafka brokers, the exporter, admin tools).",
                     "short", [target(f"max by (server) ({sel('zookeeper_srvr_connections', s)})", "{{server}}")],
                     axis="connections"))
    d.add(timeseries("Broker to ZooKeeper request latency p99",
                     "99th percentile of the ZooKeeper request time as each Kafka broker sees it "
                     "(broker JMX).",
                     "ms", [target(f"max by (broker) ({sel('kafka_server_zookeeperclientmetrics_zookeeperrequestlatencyms', P99)})", "broker {{broker}}")]))
    d.add(timeseries("Average latency since start",
                     "srvr's average request latency since each server started (or its counters "
                     "were reset): slow to move, but there without mntr.",
                     "s", [target(f"max by (server) ({sel('zookeeper_srvr_latency_avg_seconds', s)})", "{{server}}")]))

    d.row("Data and resources")
    d.add(timeseries("Znodes",
                     "Znodes in each server's data tree (equal on servers in sync).",
                     "short", [target(f"max by (server) ({sel('zookeeper_srvr_znodes', s)})", "{{server}}")],
                     axis="znodes"), 8)
    d.add(timeseries("Watches",
                     "Watches set by clients on each server (mntr).",
                     "short", [target(f"max by (server) ({sel('zookeeper_watch_count', s)})", "{{server}}")],
                     axis="watches"), 8)
    d.add(timeseries("Ephemeral nodes",
                     "Ephemeral znodes (sessions' registrations: Kafka's /brokers/ids, /controller).",
                     "short", [target(f"max by (server) ({sel('zookeeper_ephemerals_count', s)})", "{{server}}")],
                     axis="znodes"), 8)
    d.add(timeseries("Approximate data size",
                     "Size of the data tree in memory on each server (mntr).",
                     "bytes", [target(f"max by (server) ({sel('zookeeper_approximate_data_size', s)})", "{{server}}")]), 12)
    d.add(timeseries("File descriptors used",
                     "Open file descriptors of each server as a fraction of its limit "
                     "(ZookeeperFileDescriptorsNearLimit above 80%).",
                     "percentunit", [target(f"max by (server) ({sel('zookeeper_open_file_descriptor_count', s)}) / max by (server) ({sel('zookeeper_max_file_descriptor_count', s)})", "{{server}}")]), 12)
    return d


def exporter():
    d = Dashboard(
        "kafka-hub-exporter", "kafka-hub-exporter",
        "The exporter itself, every instance (broker sidecars and the cluster-level one): "
        "collectors, their freshness and errors, the Jolokia bridge per broker, the process. "
        "Alerts: alerts/kafka-hub-exporter.yaml.")
    d.row("Instances")
    d.add(stat("Exporter instances",
               "kafka-hub-exporter processes Prometheus scrapes (sidecars and cluster-level).",
               "none", f"count({sel('kafka_hub_exporter_build_info')})", ("blue",)), 6, 4)
    d.add(stat("Collectors failing",
               "Collectors whose last collection failed as a whole (KafkaHubExporterCollectorFailing).",
               "none", f"count({sel('kafka_hub_exporter_collector_up')} == 0) or vector(0)",
               ("green", (1, "red"))), 6, 4)
    d.add(stat("JMX targets down",
               "Jolokia agents that did not answer the last bulk read (KafkaHubExporterJmxTargetDown).",
               "none", f"count({sel('kafka_hub_exporter_jmx_target_up')} == 0) or vector(0)",
               ("green", (1, "red"))), 6, 4)
    d.add(stat("Series published",
               "Series all collectors of all instances publish.",
               "short", f"sum({sel('kafka_hub_exporter_collector_series')})", ("blue",)), 6, 4)
    d.add(table("Versions",
                "Version, revision and librdkafka of every instance.",
                [(f"max by (instance, version, revision, librdkafka_version) ({sel('kafka_hub_exporter_build_info')})", "", None, None)],
                hide=("Value",)), 24, 5)

    d.row("Collectors")
    d.add(state_timeline("Collector up",
                         "Whether each collector's last collection succeeded, per instance.",
                         f"min by (instance, collector) ({sel('kafka_hub_exporter_collector_up')})",
                         "{{collector}} on {{instance}}", [(0, "FAILING", "red"), (1, "OK", "green")]), 24, 6)
    d.add(timeseries("Age of the last successful collection",
                     "Seconds since each collector last finished a collection; it stays below "
                     "the poll interval while healthy (KafkaHubExporterCollectorStale above 5 "
                     "minutes).",
                     "s", [target(f"max by (instance, collector) (time() - {sel('kafka_hub_exporter_collector_last_success_timestamp_seconds')})", "{{collector}} on {{instance}}")]))
    d.add(timeseries("Collection duration",
                     "How long each collector's last collection took (it has a deadline shorter "
                     "than its poll interval).",
                     "s", [target(f"max by (instance, collector) ({sel('kafka_hub_exporter_collector_last_duration_seconds')})", "{{collector}} on {{instance}}")]))
    d.add(timeseries("Series per collector",
                     "Series each collector publishes, per instance.",
                     "short", [target(f"max by (instance, collector) ({sel('kafka_hub_exporter_collector_series')})", "{{collector}} on {{instance}}")],
                     axis="series"))
    d.add(timeseries("Collections per second by result",
                     "Collections finished per second, successes and failures.",
                     "short", [target(f"sum by (collector, result) ({rate('kafka_hub_exporter_collections_total')})", "{{collector}} {{result}}")],
                     axis="collections/s"))
    d.add(timeseries("Collector errors by kind",
                     "Errors per second by collector and kind (connect, timeout, auth, ...); a "
                     "partial error (one broker, one server) is counted too.",
                     "short", [target(f"sum by (collector, kind) ({rate('kafka_hub_exporter_collector_errors_total')})", "{{collector}} {{kind}}")],
                     axis="errors/s"))
    d.add(timeseries("Scrapes of /metrics",
                     "Requests to /metrics per second per instance, by encoding.",
                     "reqps", [target(f"sum by (instance, encoding) ({rate('kafka_hub_exporter_scrape_requests_total')})", "{{instance}} {{encoding}}")]))

    d.row("JMX bridge")
    d.add(state_timeline("JMX targets up",
                         "Whether each broker's Jolokia agent answered the last bulk read.",
                         f"min by (broker) ({sel('kafka_hub_exporter_jmx_target_up')})", "broker {{broker}}",
                         [(0, "DOWN", "red"), (1, "UP", "green")]), 24, 6)
    d.add(timeseries("Jolokia read time per target",
                     "Time each agent took to answer the bulk read (one request per poll).",
                     "s", [target(f"max by (broker) ({sel('kafka_hub_exporter_jmx_target_read_duration_seconds')})", "broker {{broker}}")]), 8)
    d.add(timeseries("Jolokia reply size per target",
                     "Size of each agent's last bulk reply.",
                     "bytes", [target(f"max by (broker) ({sel('kafka_hub_exporter_jmx_target_reply_bytes')})", "broker {{broker}}")]), 8)
    d.add(timeseries("Samples per target",
                     "Samples the rules and JVM series made of each agent's reply.",
                     "short", [target(f"max by (broker) ({sel('kafka_hub_exporter_jmx_target_samples')})", "broker {{broker}}")],
                     axis="samples"), 8)
    d.add(timeseries("Attributes the agents could not read",
                     "Attributes reported as errors inside an otherwise good reply (ignoreErrors).",
                     "short", [target(f"max by (broker) ({sel('kafka_hub_exporter_jmx_target_ignored_attributes')})", "broker {{broker}}")],
                     axis="attributes"), 16)
    d.add(stat("Planned reads per bulk request",
               "MBean pattern reads the rules file needs, sent in one bulk request per poll.",
               "none", f"max({sel('kafka_hub_exporter_jmx_planned_reads')})", ("blue",)), 8, 8)

    d.row("Process")
    own = f"and on (job, instance) {sel('kafka_hub_exporter_build_info')}"
    d.add(timeseries("Exporter CPU",
                     "CPU used by each exporter process, in cores.",
                     "percentunit", [target(f"{rate('process_cpu_seconds_total')} {own}", "{{instance}}")]), 8)
    d.add(timeseries("Exporter resident memory",
                     "Resident memory of each exporter process.",
                     "bytes", [target(f"{sel('process_resident_memory_bytes')} {own}", "{{instance}}")]), 8)
    d.add(timeseries("Exporter open file descriptors",
                     "Open file descriptors of each exporter process.",
                     "short", [target(f"{sel('process_open_fds')} {own}", "{{instance}}")],
                     axis="descriptors"), 8)
    return d


DASHBOARDS = {
    "kafka-cluster-overview.json": cluster_overview,
    "kafka-topics.json": topics,
    "consumer-lag-monitoring.json": consumer_lag,
    "zookeeper-cluster.json": zookeeper,
    "kafka-hub-exporter.json": exporter,
}


def render():
    """{file name: JSON text}."""
    return {name: json.dumps(build().json(), indent=2) + "\n" for name, build in DASHBOARDS.items()}


def main(argv):
    check = argv[1:] == ["--check"]
    if argv[1:] and not check:
        print(__doc__)
        return 2
    stale = []
    for name, text in render().items():
        path = os.path.join(HERE, name)
        old = open(path).read() if os.path.exists(path) else None
        if old == text:
            continue
        if check:
            stale.append(name)
        else:
            with open(path, "w") as f:
                f.write(text)
            print(f"wrote {path}")
    if stale:
        print(f"out of date (run python3 dashboards/generate.py): {', '.join(stale)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
