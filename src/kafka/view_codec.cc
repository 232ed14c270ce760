#include "khe/kafka/view_codec.h"

#include <cstring>

namespace khe {
namespace {

constexpr std::string_view kViewMagic = "KHV1";
constexpr std::string_view kErrorMagic = "KHE1";

class Writer {
 public:
  void raw(std::string_view s) { out_ += s; }
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void i64(std::int64_t v) {
    char b[8];
    std::memcpy(b, &v, 8);  // both ends are the same binary on the same machine
    out_.append(b, 8);
  }
  void i32(std::int32_t v) { i64(v); }
  void count(std::size_t n) { i64(static_cast<std::int64_t>(n)); }
  void str(std::string_view s) {
    count(s.size());
    out_ += s;
  }
  void error(const Error& e) {
    u8(static_cast<std::uint8_t>(e.kind));
    str(e.target);
    str(e.message);
  }
  std::string take() && { return std::move(out_); }

 private:
  std::string out_;
};

struct Malformed {
  std::size_t at;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  void expect(std::string_view magic) {
    need(magic.size());
    if (in_.substr(pos_, magic.size()) != magic) throw Malformed{pos_};
    pos_ += magic.size();
  }
  std::uint8_t u8() {
    need(1);
    return static_cast<std::uint8_t>(in_[pos_++]);
  }
  std::int64_t i64() {
    need(8);
    std::int64_t v;
    std::memcpy(&v, in_.data() + pos_, 8);
    pos_ += 8;
    return v;
  }
  std::int32_t i32() {
    auto v = i64();
    if (v < INT32_MIN || v > INT32_MAX) throw Malformed{pos_};
    return static_cast<std::int32_t>(v);
  }
  // Each element takes at least `min_element_bytes`, so a count can never promise more
  // elements than the remaining bytes could hold (no huge allocation from a corrupt count).
  std::size_t count(std::size_t min_element_bytes = 1) {
    auto v = i64();
    if (v < 0 || static_cast<std::size_t>(v) * min_element_bytes > in_.size() - pos_) {
      throw Malformed{pos_};
    }
    return static_cast<std::size_t>(v);
  }
  std::string str() {
    auto n = count();
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  Error error() {
    auto kind = u8();
    if (kind > static_cast<std::uint8_t>(ErrorKind::kInternal)) throw Malformed{pos_};
    Error e;
    e.kind = static_cast<ErrorKind>(kind);
    e.target = str();
    e.message = str();
    return e;
  }
  bool done() const { return pos_ == in_.size(); }
  std::size_t pos() const { return pos_; }

 private:
  void need(std::size_t n) {
    if (in_.size() - pos_ < n) throw Malformed{pos_};
  }
  std::string_view in_;
  std::size_t pos_ = 0;
};

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

std::string encode_error(const Error& error) {
  Writer w;
  w.raw(kErrorMagic);
  w.error(error);
  return std::move(w).take();
}

Result<GatheredView> decode_view(std::string_view bytes) {
  try {
    Reader r(bytes);
    if (bytes.substr(0, kErrorMagic.size()) == kErrorMagic) {
      r.expect(kErrorMagic);
      Error e = r.error();
      if (!r.done()) throw Malformed{r.pos()};
      return e;
    }
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
    return Error{ErrorKind::kProtocol, "kafka worker",
                 "malformed or truncated answer (" + std::to_string(bytes.size()) +
                     " bytes, bad at byte " + std::to_string(m.at) + ")"};
  }
}

}  // namespace khe
