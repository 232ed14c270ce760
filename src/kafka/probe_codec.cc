#include "khe/kafka/probe_codec.h"

#include "khe/kafka/wire.h"

namespace khe {
namespace {

constexpr std::string_view kReportMagic = "KHP1";

using wire::Malformed;
using wire::Reader;
using wire::Writer;

void write_id(Writer& w, const ProbeMessageId& id) {
  w.i64(static_cast<std::int64_t>(id.run));
  w.i64(static_cast<std::int64_t>(id.seq));
}

ProbeMessageId read_id(Reader& r) {
  ProbeMessageId id;
  id.run = static_cast<std::uint64_t>(r.i64());
  id.seq = static_cast<std::uint64_t>(r.i64());
  return id;
}

void write_ids(Writer& w, const std::vector<std::int32_t>& ids) {
  w.count(ids.size());
  for (auto id : ids) w.i32(id);
}

std::vector<std::int32_t> read_ids(Reader& r) {
  std::vector<std::int32_t> ids;
  for (auto n = r.count(8); n > 0; --n) ids.push_back(r.i32());
  return ids;
}

}  // namespace

std::string encode_probe_report(const ProbeReport& report) {
  Writer w;
  w.raw(kReportMagic);
  w.i64(static_cast<std::int64_t>(report.run));
  w.i64(report.started_ns);
  w.i64(report.drained_ns);
  const auto& t = report.topic;
  w.u8(t.known ? 1 : 0);
  w.u8(t.exists ? 1 : 0);
  write_ids(w, t.brokers);
  w.count(t.partitions.size());
  for (const auto& p : t.partitions) {
    w.i32(p.partition);
    w.i32(p.leader);
    write_ids(w, p.replicas);
    write_ids(w, p.isr);
    w.str(p.error);
  }
  w.str(t.problem);
  write_ids(w, t.uncovered_brokers);
  w.count(report.sends.size());
  for (const auto& s : report.sends) {
    write_id(w, s.id);
    w.i32(s.partition);
    w.i32(s.broker);
    w.i64(s.sent_ns);
  }
  w.count(report.acks.size());
  for (const auto& a : report.acks) {
    write_id(w, a.id);
    w.i32(a.partition);
    w.i64(a.sent_ns);
    w.i64(a.acked_ns);
    w.str(a.error);
  }
  w.count(report.receipts.size());
  for (const auto& r : report.receipts) {
    write_id(w, r.id);
    w.i32(r.partition);
    w.i64(r.sent_ns);
    w.i64(r.received_ns);
  }
  w.count(report.commits.size());
  for (const auto& c : report.commits) {
    w.i64(c.latency_ns);
    w.str(c.error);
  }
  w.i64(static_cast<std::int64_t>(report.dropped_events));
  w.count(report.errors.size());
  for (const auto& e : report.errors) w.error(e);
  return std::move(w).take();
}

Result<ProbeReport> decode_probe_report(std::string_view bytes) {
  if (auto error = decode_error_answer(bytes, "probe worker")) return *error;
  try {
    Reader r(bytes);
    r.expect(kReportMagic);
    ProbeReport out;
    out.run = static_cast<std::uint64_t>(r.i64());
    out.started_ns = r.i64();
    out.drained_ns = r.i64();
    auto& t = out.topic;
    t.known = r.u8() != 0;
    t.exists = r.u8() != 0;
    t.brokers = read_ids(r);
    for (auto n = r.count(40); n > 0; --n) {
      PartitionInfo p;
      p.partition = r.i32();
      p.leader = r.i32();
      p.replicas = read_ids(r);
      p.isr = read_ids(r);
      p.error = r.str();
      t.partitions.push_back(std::move(p));
    }
    t.problem = r.str();
    t.uncovered_brokers = read_ids(r);
    for (auto n = r.count(40); n > 0; --n) {
      ProbeSend s;
      s.id = read_id(r);
      s.partition = r.i32();
      s.broker = r.i32();
      s.sent_ns = r.i64();
      out.sends.push_back(s);
    }
    for (auto n = r.count(48); n > 0; --n) {
      ProbeAck a;
      a.id = read_id(r);
      a.partition = r.i32();
      a.sent_ns = r.i64();
      a.acked_ns = r.i64();
      a.error = r.str();
      out.acks.push_back(std::move(a));
    }
    for (auto n = r.count(40); n > 0; --n) {
      ProbeReceipt rc;
      rc.id = read_id(r);
      rc.partition = r.i32();
      rc.sent_ns = r.i64();
      rc.received_ns = r.i64();
      out.receipts.push_back(rc);
    }
    for (auto n = r.count(16); n > 0; --n) {
      ProbeCommit c;
      c.latency_ns = r.i64();
      c.error = r.str();
      out.commits.push_back(std::move(c));
    }
    out.dropped_events = static_cast<std::uint64_t>(r.i64());
    for (auto n = r.count(17); n > 0; --n) out.errors.push_back(r.error());
    if (!r.done()) throw Malformed{r.pos()};
    return out;
  } catch (const Malformed& m) {
    return wire::malformed_error("probe worker", "malformed or truncated report", bytes.size(), m);
  }
}

}  // namespace khe
