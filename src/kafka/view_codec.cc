#include "khe/kafka/view_codec.h"

#include "khe/kafka/wire.h"

namespace khe {
namespace {

constexpr std::string_view kViewMagic = "KHV1";

using wire::Malformed;
using wire::Reader;
using wire::Writer;

void write_tp(Writer& w, const TopicPartition& tp) {
  w.str(tp.topic);
  w.i32(tp.partition);
}

TopicPartition read_tp(Reader& r) {
  TopicPartition tp;
  tp.topic = r.str();
  tp.partition = r.i32();
  return tp;
}

}  // namespace

std::string encode_view(const GatheredView& gathered) {
  Writer w;
  w.raw(kViewMagic);
  const auto& v = gathered.view;
  w.count(v.metadata.brokers.size());
  for (const auto& b : v.metadata.brokers) {
    w.i32(b.id);
    w.str(b.host);
    w.i32(b.port);
  }
  w.i32(v.metadata.controller_id);
  w.count(v.metadata.topics.size());
  for (const auto& t : v.metadata.topics) {
    w.str(t.name);
    w.u8(t.internal ? 1 : 0);
    w.count(t.partitions.size());
    for (const auto& p : t.partitions) {
      w.i32(p.partition);
      w.i32(p.leader);
      w.count(p.replicas.size());
      for (auto r : p.replicas) w.i32(r);
      w.count(p.isr.size());
      for (auto r : p.isr) w.i32(r);
      w.str(p.error);
    }
  }
  w.count(v.watermarks.size());
  for (const auto& [tp, m] : v.watermarks) {
    write_tp(w, tp);
    w.i64(m.earliest);
    w.i64(m.latest);
  }
  w.count(v.partition_errors.size());
  for (const auto& [tp, reason] : v.partition_errors) {
    write_tp(w, tp);
    w.str(reason);
  }
  w.count(v.groups.size());
  for (const auto& g : v.groups) {
    w.str(g.group);
    w.u8(g.description ? 1 : 0);
    if (g.description) {
      const auto& d = *g.description;
      w.str(d.group);
      w.str(d.state);
      w.str(d.protocol);
      w.str(d.protocol_type);
      w.i32(d.coordinator_id);
      w.count(d.members.size());
      for (const auto& m : d.members) {
        w.str(m.consumer_id);
        w.str(m.client_id);
        w.str(m.host);
        w.count(m.assignment.size());
        for (const auto& tp : m.assignment) write_tp(w, tp);
      }
    }
    w.count(g.committed.size());
    for (const auto& [tp, offset] : g.committed) {
      write_tp(w, tp);
      w.i64(offset);
    }
  }
  w.count(v.record_timestamps_ms.size());
  for (const auto& [tpo, ts] : v.record_timestamps_ms) {
    write_tp(w, tpo.tp);
    w.i64(tpo.offset);
    w.i64(ts);
  }
  w.count(gathered.errors.size());
  for (const auto& e : gathered.errors) w.error(e);
  return std::move(w).take();
}

Result<GatheredView> decode_view(std::string_view bytes) {
  try {
    if (auto error = decode_error_answer(bytes, "kafka worker")) return *error;
    Reader r(bytes);
    r.expect(kViewMagic);
    GatheredView out;
    auto& v = out.view;
    for (auto n = r.count(24); n > 0; --n) {
      BrokerInfo b;
      b.id = r.i32();
      b.host = r.str();
      b.port = r.i32();
      v.metadata.brokers.push_back(std::move(b));
    }
    v.metadata.controller_id = r.i32();
    for (auto n = r.count(17); n > 0; --n) {
      TopicInfo t;
      t.name = r.str();
      t.internal = r.u8() != 0;
      for (auto m = r.count(40); m > 0; --m) {
        PartitionInfo p;
        p.partition = r.i32();
        p.leader = r.i32();
        for (auto k = r.count(8); k > 0; --k) p.replicas.push_back(r.i32());
        for (auto k = r.count(8); k > 0; --k) p.isr.push_back(r.i32());
        p.error = r.str();
        t.partitions.push_back(std::move(p));
      }
      v.metadata.topics.push_back(std::move(t));
    }
    for (auto n = r.count(32); n > 0; --n) {
      auto tp = read_tp(r);
      Watermark m;
      m.earliest = r.i64();
      m.latest = r.i64();
      v.watermarks[tp] = m;
    }
    for (auto n = r.count(24); n > 0; --n) {
      auto tp = read_tp(r);
      v.partition_errors[tp] = r.str();
    }
    for (auto n = r.count(17); n > 0; --n) {
      ClusterView::Group g;
      g.group = r.str();
      if (r.u8() != 0) {
        GroupDescription d;
        d.group = r.str();
        d.state = r.str();
        d.protocol = r.str();
        d.protocol_type = r.str();
        d.coordinator_id = r.i32();
        for (auto m = r.count(32); m > 0; --m) {
          MemberInfo info;
          info.consumer_id = r.str();
          info.client_id = r.str();
          info.host = r.str();
          for (auto k = r.count(16); k > 0; --k) info.assignment.push_back(read_tp(r));
          d.members.push_back(std::move(info));
        }
        g.description = std::move(d);
      }
      for (auto m = r.count(24); m > 0; --m) {
        auto tp = read_tp(r);
        g.committed[tp] = r.i64();
      }
      v.groups.push_back(std::move(g));
    }
    for (auto n = r.count(32); n > 0; --n) {
      TopicPartitionOffset tpo;
      tpo.tp = read_tp(r);
      tpo.offset = r.i64();
      v.record_timestamps_ms[tpo] = r.i64();
    }
    for (auto n = r.count(17); n > 0; --n) out.errors.push_back(r.error());
    if (!r.done()) throw Malformed{r.pos()};
    return out;
  } catch (const Malformed& m) {
    return wire::malformed_error("kafka worker", "malformed or truncated answer", bytes.size(), m);
  }
}

}  // namespace khe
