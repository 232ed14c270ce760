// The worker process boundary: stand-in workers that die, hang or talk garbage.
#include "khe/kafka/kafka_worker.h"

#include <gtest/gtest.h>

#include <cstring>

#include "khe/kafka/view_codec.h"

namespace khe {
namespace {

auto in(int ms) { return std::chrono::steady_clock::now() + std::chrono::milliseconds(ms); }

TEST(WorkerViewSource, AWorkerThatAbortsIsAnErrorAndTheNextPollStartsANewOne) {
  WorkerViewSource source({"/bin/sh", "-c", "kill -ABRT $$"});
  for (int poll = 0; poll < 2; ++poll) {
    auto result = source.gather(in(2000));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().kind, ErrorKind::kWorker);
    EXPECT_NE(result.error().message.find("signal 6"), std::string::npos) << result.error().message;
  }
}

TEST(WorkerViewSource, AHungWorkerIsKilledAfterTheDeadlineAndGrace) {
  WorkerViewSource source({"/bin/sleep", "60"});
  auto started = std::chrono::steady_clock::now();
  auto result = source.gather(in(100));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
}

TEST(WorkerViewSource, AGarbageAnswerIsRefused) {
  WorkerViewSource source({"/bin/sh", "-c", "printf 'xxxxxxxxgarbage'; sleep 5"});
  auto result = source.gather(in(2000));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kWorker);
  EXPECT_NE(result.error().message.find("refused"), std::string::npos);
}

TEST(WorkerViewSource, AValidAnswerIsDecoded) {
  // A worker that answers one poll with an encoded error, as the real one does for a dead cluster.
  std::string answer = encode_error({ErrorKind::kConnect, "b:1", "refused"});
  std::string size(8, '\0');
  std::uint64_t n = answer.size();
  std::memcpy(size.data(), &n, 8);
  std::string script = "head -c 8 >/dev/null; printf '";
  for (char c : size + answer) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "\\%03o", static_cast<unsigned char>(c));
    script += buf;
  }
  script += "'; sleep 5";
  WorkerViewSource source({"/bin/sh", "-c", script});
  auto result = source.gather(in(2000));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kConnect);
  EXPECT_EQ(result.error().message, "refused");
}

}  // namespace
}  // namespace khe
