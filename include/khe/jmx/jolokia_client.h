// The Jolokia side of the JMX bridge.
//
// JolokiaTransport is the seam over HTTP (the only code that includes the HTTP client lives in
// jolokia_transport.cc): it POSTs one bulk request and returns the raw body, bounded in size and
// time, with basic auth and HTTPS. Tests substitute a fake server or a fake transport.
//
// build_bulk_request() and walk_bulk_reply() are pure: the walker parses a bulk reply
// defensively (garbage, truncation, NaN tokens, per-element errors, both forms of ignored
// attribute errors) and hands every value to a callback as BeanLeafs, flattened the way
// jmx_exporter flattens composite and tabular data.
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
  std::string broker;  // label value: which broker this agent sits in (broker id or host)
  std::string user;    // basic auth when not empty
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

std::unique_ptr<JolokiaTransport> make_http_jolokia_transport(const JolokiaTarget& target);

// A JSON array of read requests, each with canonicalNaming=false and ignoreErrors=true.
std::string build_bulk_request(const std::vector<PlannedRead>& reads);

// What one element of the bulk reply said, in request order.
struct ElementOutcome {
  std::optional<Error> error;  // 404 no such MBean is not an error: `empty` is set instead
  bool empty = false;          // the pattern matched no MBean (or no matching attribute)
  std::size_t beans = 0;       // MBeans in this element's value
  std::size_t leaves = 0;      // leaves handed to the callback
  std::size_t ignored_attributes = 0;  // "ERROR: ..." strings or {".error": true} objects
};

// Called once per MBean (return false to skip the bean: include/exclude filtering) ...
using BeanFilter = std::function<bool(const ObjectName&)>;
// ... and once per leaf of every bean that passed.
using LeafCallback = std::function<void(const BeanLeaf&)>;

// Parses a bulk reply to `reads`. An Error (kProtocol) means the reply as a whole is unusable
// (not JSON, not an array, wrong length) and is found before any callback is called, so a
// rejected reply never contributes half its series; per-element failures are in the outcomes
// and the other elements are still walked.
Result<std::vector<ElementOutcome>> walk_bulk_reply(std::string_view body,
                                                    const std::vector<PlannedRead>& reads,
                                                    const BeanFilter& filter,
                                                    const LeafCallback& on_leaf);

}  // namespace khe::jmx
