// Turns the probe's ledger and its topic's state into metric families (kafka_probe_*). Pure and
// deterministic (sorted by partition and broker), unit-tested on hand-built ledgers.
#pragma once

#include <vector>

#include "khe/core/metric_family.h"
#include "khe/kafka/probe_ledger.h"
#include "khe/kafka/probe_report.h"

namespace khe {

std::vector<Family> build_probe_families(const ProbeLedger& ledger, const ProbeTopicState& topic);

}  // namespace khe
