// The Jolokia side of the JMX bridge.
//
// JolokiaTransport is the seam over HTTP (the only code that includes the HTTP client lives in
// jolokia_transport.cc): it POSTs one bulk request and returns the raw body, bounded in size and
// time, with basic auth and HTTPS. Tests substitute a fake server or a fake transport.
//
// build_bulk_request() and walk_bulk_reply() are pure: the walker parses a bulk reply
// defensively (garbage, truncation, NaN tokens, per-element errors, both forms of ignored
// attribute errors) and hands every value to a callback as BeanLeafs, flattened the way
// jmx_exporter 0.20.0's JmxScraper flattens composite and tabular data.
//
// What Jolokia's JSON cannot say, and how the walker decides (checked against Jolokia 1.7.2 and
// jmx_exporter 0.20.0 on a real broker, test/data/jmx/jolokia/):
// - An object may have been a CompositeData, a TabularData, a Map or a bean Jolokia serialised
//   through its getters. Objects are walked as CompositeData (item names become attr_name, the
//   attribute joins attr_keys), except the TabularData a broker JVM has, which Jolokia renders
//   as MXBean maps ({key: value}): java.lang:type=Runtime SystemProperties and the
//   memoryUsageBeforeGc / memoryUsageAfterGc of a GarbageCollector's LastGcInfo. Those become
//   rows as jmx_exporter makes them: a `key` bean property (`key_` when the bean already has
//   one) and the attribute's own name and attr_keys. A TabularData of another MBean, a
//   java.util.Map or a bean object walks as a composite where jmx_exporter would label rows or
//   skip the value.
// - Jolokia renders an ObjectName value as {"objectName": "..."}; jmx_exporter does not export
//   ObjectName values, so neither does the walker.
// - Jolokia 1.x writes a Double NaN or infinity as null, the same as a Java null: jmx_exporter
//   drops nulls but records NaN. Nulls reach the callback as LeafValue::Kind::kNull and the
//   rules decide (Kafka's metrics are often NaN; a MemoryPool's CollectionUsage is a real null).
// - A top-level attribute whose getter threw UnsupportedOperationException is the string
//   "Unsupported" in Jolokia's reply; MBeanServer.getAttributes() leaves such an attribute out,
//   so jmx_exporter never sees it. The walker counts it with the ignored attributes.
// - JSON arrays (Java arrays, lists, sets) are skipped, as jmx_exporter skips arrays; a
//   java.util.Date arrives as Jolokia's ISO string where jmx_exporter would record seconds.
// - The leaf order within a composite is Jolokia's (a hash order), not CompositeType's sorted
//   order; it only matters when two leaves make the same sample, where the first one wins.
// - A plain (non-pattern) read's reply does not name its bean: the leaves carry the ObjectName
//   as the request wrote it, in that property order (a pattern read's reply names each bean in
//   registration order, as jmx_exporter sees it).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "khe/core/error.h"
#include "khe/jmx/bean_leaf.h"
#include "khe/jmx/jmx_rules.h"

namespace khe::jmx {

struct JolokiaTarget {
  std::string url = "http://127.0.0.1:8778/jolokia/";
  std::string broker;         // label value: which broker this agent sits in (broker id or host)
  std::string user;           // basic auth when not empty
  std::string password;       // secret: never logged or printed
  std::string password_file;  // shown by --check-config instead of the password
  std::string ca_file;        // PEM bundle for https; empty: the system's store
  bool insecure_skip_verify = false;
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds read_timeout{10'000};
  std::size_t max_reply_bytes = 64 << 20;
};

class JolokiaTransport {
 public:
  virtual ~JolokiaTransport() = default;
  // POSTs `body` (a JSON array) and returns the reply body of a 200. Errors: kConnect,
  // kTimeout (connect, read or `deadline`, whichever is first), kAuth (401/403),
  // kReplyTooLarge, kProtocol (any other status, or a 400 for the whole bulk, with the
  // agent's error text when it sent one). Not required to be thread-safe.
  virtual Result<std::string> post(const std::string& body,
                                   std::chrono::steady_clock::time_point deadline) = 0;
};

// One transport per target (cpp-httplib, jolokia_transport.cc). It keeps its connection alive
// between polls and reconnects (one retry) when the agent closed it while idle. The deadline is
// enforced by a watchdog thread per post that shuts the socket down, since a server dripping
// bytes defeats a per-read timeout. A URL that is not http(s)://host[:port]/path, or carries
// credentials, makes every post() fail with kConfig (without echoing the URL).
std::unique_ptr<JolokiaTransport> make_http_jolokia_transport(const JolokiaTarget& target);

// A JSON array of read requests, each with canonicalNaming=false and ignoreErrors=true. The
// attribute list is sent only when not empty, always as an array, so that Jolokia answers a
// plain read with an attribute -> value map even for one attribute.
std::string build_bulk_request(const std::vector<PlannedRead>& reads);

// True when Jolokia treats `mbean` as a pattern (an unescaped '*' or '?' in the domain, a
// property value or as the property list): its reply value is then ObjectName -> attribute map.
bool is_object_name_pattern(std::string_view mbean);

// The agent's error text ("error", else "error_type") when `body` is a Jolokia error object,
// as Jolokia 1.x answers a bulk request it rejects as a whole (HTTP 200, {"status":400,...}).
// Bounded in length; nullopt when the body is not such an object.
std::optional<std::string> agent_error_text(std::string_view body);

// What one element of the bulk reply said, in request order.
struct ElementOutcome {
  std::optional<Error> error;  // 404 no such MBean is not an error: `empty` is set instead
  bool empty = false;          // the pattern matched no MBean (or no matching attribute)
  std::size_t beans = 0;       // MBeans in this element's value
  std::size_t leaves = 0;      // leaves handed to the callback
  // Attributes the agent could not read: "ERROR: ..." strings, {".error": true} objects, and
  // "Unsupported" (a getter that threw UnsupportedOperationException).
  std::size_t ignored_attributes = 0;
};

// Called once per MBean (return false to skip the bean: include/exclude filtering) ...
using BeanFilter = std::function<bool(const ObjectName&)>;
// ... and once per leaf of every bean that passed.
using LeafCallback = std::function<void(const BeanLeaf&)>;

// True for the leaves jmx_exporter 0.20.0 never reads even when a rule would match them: the
// SystemProperties, ClassPath, BootClassPath and LibraryPath of java.lang:type=Runtime and
// every attribute of jdk.management.jfr:type=FlightRecorder. The JVM series still read
// SystemProperties (jvm_info); the rules must not see these leaves.
bool jmx_exporter_skips(const ObjectName& bean, const BeanLeaf& leaf);

// Parses a bulk reply to `reads`. An Error (kProtocol) means the reply as a whole is unusable
// (not JSON, not valid UTF-8, nested deeper than 512, not an array, wrong length, or the
// agent's own error object for the whole bulk, whose text it carries) and is found before any
// callback is called, so a rejected reply never contributes half its series; per-element
// failures are in the outcomes and the other elements are still walked. Element status 404,
// and 400 "No matching attributes" for a pattern read, are `empty`; 401/403 are kAuth, other
// statuses kProtocol with the agent's error text. A malformed ObjectName in a pattern reply
// is counted in that element's error and the element's other beans are still walked.
// Besides the bare NaN / Infinity / -Infinity tokens, the JSON is strict (RFC 8259).
// Cost: one validating pass that records a token tape (12 bytes per JSON token), then the
// walk; no allocation per leaf of a flat bean. Pure and reentrant.
Result<std::vector<ElementOutcome>> walk_bulk_reply(std::string_view body,
                                                    const std::vector<PlannedRead>& reads,
                                                    const BeanFilter& filter,
                                                    const LeafCallback& on_leaf);

}  // namespace khe::jmx
