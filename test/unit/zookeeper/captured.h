// Reads a reply captured from a real ZooKeeper 3.8 / Kafka 3.6.1 under test/data/zookeeper/.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace khe {

inline std::string captured(const std::string& name) {
  std::ifstream in(std::string(KHE_TEST_DATA) + "/zookeeper/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace khe
