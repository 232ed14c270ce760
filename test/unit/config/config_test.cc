#include "khe/config/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace khe {
namespace {

std::string error_of(const std::string& yaml) {
  auto config = parse_config(yaml, "c.yaml");
  if (config.ok()) return "OK";
  return config.error().message;
}

TEST(Config, EmptyFileGivesDefaults) {
  auto config = parse_config("", "c.yaml");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->web.listen_address, ":7071");
  EXPECT_EQ(config->web.telemetry_path, "/metrics");
  EXPECT_EQ(config->kafka.poll_interval, std::chrono::seconds(30));
  EXPECT_EQ(config->kafka.poll_timeout, std::chrono::seconds(20));
  EXPECT_EQ(config->kafka.naming, LagNaming::kKafkaLagExporter);
}

TEST(Config, FullFileParses) {
  auto config = parse_config(R"(
web:
  listen_address: 127.0.0.1:9000
  telemetry_path: /m
log: {level: debug, format: json}
kafka:
  cluster_name: prod
  servers: [a:9092, b:9092]
  poll_interval: 10s
  poll_timeout: 5s
  naming: both
  per_partition_series: false
  max_concurrent_group_requests: 8
  topics: {allow: ["llm-.*"], deny: [".*-dlq"]}
  groups: {deny: ["console-consumer-.*"]}
  properties: {security.protocol: SASL_SSL, sasl.mechanism: SCRAM-SHA-512}
)",
                             "c.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->kafka.cluster_name, "prod");
  EXPECT_EQ(config->kafka.bootstrap_servers.size(), 2u);
  EXPECT_EQ(config->kafka.poll_timeout, std::chrono::seconds(5));
  EXPECT_EQ(config->kafka.naming, LagNaming::kBoth);
  EXPECT_FALSE(config->kafka.per_partition_series);
  EXPECT_TRUE(config->kafka.topic_filter.allows("llm-events"));
  EXPECT_FALSE(config->kafka.topic_filter.allows("llm-events-dlq"));
  EXPECT_FALSE(config->kafka.group_filter.allows("console-consumer-1"));
  EXPECT_EQ(config->kafka.properties.at("security.protocol"), "SASL_SSL");
}

TEST(Config, ErrorsNameFileLineKeyAndReason) {
  EXPECT_EQ(error_of("kafka:\n  pol_interval: 5s\n"),
            "c.yaml:2: kafka.pol_interval: unknown key (known keys: cluster_name, enabled, "
            "groups, include_internal_topics, lag_seconds, max_concurrent_group_requests, "
            "naming, per_partition_series, poll_interval, poll_timeout, properties, "
            "property_files, servers, status, topics)");
  EXPECT_EQ(error_of("kafka:\n  status:\n    window: 1\n"),
            "c.yaml:3: kafka.status.window: must be an integer from 2 to 1000, got '1'");
  EXPECT_EQ(
      error_of("kafka:\n  lag_seconds: {size: 5}\n"),
      "c.yaml:2: kafka.lag_seconds.size: unknown key (known keys: record_budget, table_size)");
  EXPECT_EQ(error_of("webb: {}\n"),
            "c.yaml:1: webb: unknown key (known keys: jmx, kafka, log, probe, web, zookeeper)");
  EXPECT_EQ(
      error_of("kafka:\n  poll_interval: 5\n"),
      "c.yaml:2: kafka.poll_interval: must be a positive duration like 500ms, 30s or 2m, got '5'");
  EXPECT_EQ(error_of("kafka:\n  poll_interval: 10s\n  poll_timeout: 10s\n"),
            "c.yaml:3: kafka.poll_timeout: must be shorter than kafka.poll_interval (10s)");
  EXPECT_EQ(
      error_of("kafka:\n  naming: burrow\n"),
      "c.yaml:2: kafka.naming: must be kafka-lag-exporter, kafka_exporter or both, got 'burrow'");
  EXPECT_EQ(error_of("kafka:\n  per_partition_series: yes\n"),
            "c.yaml:2: kafka.per_partition_series: must be true or false, got 'yes'");
  EXPECT_EQ(error_of("kafka:\n  servers: localhost:9092\n"),
            "c.yaml:2: kafka.servers: must be a list");
  EXPECT_EQ(error_of("kafka:\n  servers: [localhost]\n"),
            "c.yaml:2: kafka.servers: 'localhost' must be host:port");
  EXPECT_EQ(
      error_of("kafka:\n  max_concurrent_group_requests: 0\n"),
      "c.yaml:2: kafka.max_concurrent_group_requests: must be an integer from 1 to 1024, got '0'");
  EXPECT_EQ(error_of("kafka:\n  topics:\n    allow: ['orders(']\n"),
            "c.yaml:3: kafka.topics: pattern 'orders(': invalid regular expression at offset 7: "
            "missing closing parenthesis");
  EXPECT_EQ(error_of("kafka:\n  topics:\n    include: [x]\n"),
            "c.yaml:3: kafka.topics.include: unknown key (known keys: allow, deny)");
  EXPECT_EQ(error_of("kafka:\n  properties: [a]\n"),
            "c.yaml:2: kafka.properties: must be a mapping of librdkafka properties");
  EXPECT_EQ(error_of("kafka:\n  property_files:\n    sasl.password: /nonexistent/pw\n"),
            "c.yaml:3: kafka.property_files.sasl.password: cannot read file '/nonexistent/pw'");
  EXPECT_EQ(error_of("web:\n  telemetry_path: metrics\n"),
            "c.yaml:2: web.telemetry_path: must start with '/'");
  EXPECT_EQ(error_of("web:\n  threads: many\n"),
            "c.yaml:2: web.threads: must be an integer from 1 to 256, got 'many'");
  EXPECT_EQ(error_of("kafka: [1, 2]\n"), "c.yaml:1: kafka: must be a mapping");
  EXPECT_EQ(error_of("kafka:\n  servers: [a:1\n"),
            "c.yaml:3: invalid YAML: end of sequence flow not found");
}

TEST(Config, ValidationCatchesWholeConfigProblems) {
  Config config;
  config.file = "c.yaml";
  auto error = validate_config(config);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->message,
            "c.yaml: kafka.servers: no Kafka brokers configured (set kafka.servers or "
            "--kafka.server, or set kafka.enabled: false)");
  config.kafka.bootstrap_servers = {"a:1"};
  config.log.level = "verbose";
  EXPECT_EQ(validate_config(config)->message,
            "c.yaml: log.level: must be one of trace, debug, info, warn, error; got 'verbose'");
  config.log.level = "info";
  config.log.format = "xml";
  EXPECT_EQ(validate_config(config)->message,
            "c.yaml: log.format: must be logfmt or json; got 'xml'");
  config.log.format = "json";
  config.web.telemetry_path = "/healthz";
  EXPECT_EQ(validate_config(config)->message, "c.yaml: web.telemetry_path: '/healthz' is reserved");
}

TEST(Config, SecretsComeFromFilesAndAreNeverDescribed) {
  std::string path = ::testing::TempDir() + "khe_secret";
  std::ofstream(path) << "s3cr3t-value\n";
  auto config = parse_config(
      "kafka:\n  servers: [a:1]\n  properties: {sasl.username: alice, "
      "ssl.key.password: inline-secret}\n  property_files:\n    "
      "sasl.password: " +
          path + "\n",
      "c.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->kafka.properties.at("sasl.password"), "s3cr3t-value");
  std::string described = describe_config(*config);
  EXPECT_EQ(described.find("s3cr3t-value"), std::string::npos);
  EXPECT_EQ(described.find("inline-secret"), std::string::npos);
  EXPECT_NE(described.find("alice"), std::string::npos);
  EXPECT_NE(described.find(path), std::string::npos);
  std::remove(path.c_str());
}

TEST(Flags, ParseBothSpellingsAndRepeats) {
  auto flags = parse_flags({"--config=c.yaml", "--kafka.server", "a:1", "--kafka.server=b:2",
                            "--web.listen-address", "127.0.0.1:0", "--once"});
  ASSERT_TRUE(flags.ok());
  EXPECT_EQ(*flags->config_file, "c.yaml");
  EXPECT_EQ(flags->kafka_servers, (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_EQ(*flags->listen_address, "127.0.0.1:0");
  EXPECT_TRUE(flags->once);
}

TEST(Flags, ErrorsAreClear) {
  EXPECT_EQ(parse_flags({"--kafka.servers=a:1"}).error().message,
            "flag --kafka.servers: unknown flag (see --help)");
  EXPECT_EQ(parse_flags({"--config"}).error().message, "flag --config: needs a value");
  EXPECT_EQ(parse_flags({"--once=yes"}).error().message, "flag --once: takes no value");
  EXPECT_EQ(parse_flags({"--kafka.server", "nohost"}).error().message,
            "flag --kafka.server: 'nohost' must be host:port");
}

TEST(Flags, OverrideTheFile) {
  std::string path = ::testing::TempDir() + "khe_config.yaml";
  std::ofstream(path) << "kafka:\n  servers: [file:1]\nlog: {level: debug}\n";
  Flags flags;
  flags.config_file = path;
  flags.kafka_servers = {"flag:2"};
  flags.log_level = "warn";
  auto config = build_config(flags);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->kafka.bootstrap_servers, std::vector<std::string>{"flag:2"});
  EXPECT_EQ(config->log.level, "warn");
  std::remove(path.c_str());
}

TEST(ZookeeperConfig, OffByDefaultOnWithServers) {
  auto config = parse_config("", "c.yaml");
  ASSERT_TRUE(config.ok());
  EXPECT_FALSE(config->zookeeper_enabled);
  config = parse_config("zookeeper:\n  servers: [z1:2181, z2:2181]\n", "c.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_TRUE(config->zookeeper_enabled);
  EXPECT_EQ(config->zookeeper.servers.size(), 2u);
  EXPECT_EQ(config->zookeeper.poll_interval, std::chrono::seconds(30));
  EXPECT_EQ(config->zookeeper.poll_timeout, std::chrono::seconds(20));
  EXPECT_EQ(config->zookeeper.connect_timeout, std::chrono::seconds(2));
  EXPECT_EQ(config->zookeeper.read_timeout, std::chrono::seconds(5));
  EXPECT_EQ(config->zookeeper.max_reply_bytes, 4u << 20);
  EXPECT_TRUE(config->zookeeper.kafka_registry);
  EXPECT_EQ(config->zookeeper.chroot, "");
  config = parse_config("zookeeper:\n  enabled: false\n  servers: [z1:2181]\n", "c.yaml");
  ASSERT_TRUE(config.ok());
  EXPECT_FALSE(config->zookeeper_enabled);
}

TEST(ZookeeperConfig, FullSectionParses) {
  std::string path = ::testing::TempDir() + "khe_zk_password";
  std::ofstream(path) << "zk-s3cr3t\n";
  auto config = parse_config(
      "zookeeper:\n  servers: [z1:2181]\n  chroot: /kafka\n"
      "  kafka_registry: false\n  poll_interval: 10s\n  poll_timeout: 4s\n"
      "  connect_timeout: 500ms\n  read_timeout: 1s\n  max_reply_bytes: 65536\n"
      "  auth: {scheme: digest, user: monitor, password_file: " +
          path + "}\n",
      "c.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  const auto& z = config->zookeeper;
  EXPECT_EQ(z.chroot, "/kafka");
  EXPECT_FALSE(z.kafka_registry);
  EXPECT_EQ(z.poll_timeout, std::chrono::seconds(4));
  EXPECT_EQ(z.connect_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(z.read_timeout, std::chrono::seconds(1));
  EXPECT_EQ(z.max_reply_bytes, 65536u);
  ASSERT_TRUE(z.auth);
  EXPECT_EQ(z.auth->user, "monitor");
  EXPECT_EQ(z.auth->password, "zk-s3cr3t");
  std::string described = describe_config(*config);
  EXPECT_EQ(described.find("zk-s3cr3t"), std::string::npos);
  EXPECT_NE(described.find(path), std::string::npos);
  std::remove(path.c_str());
}

TEST(ZookeeperConfig, StepTimeoutsDefaultToThePollDeadline) {
  auto config = parse_config("zookeeper:\n  servers: [z:1]\n  poll_interval: 1500ms\n", "c.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->zookeeper.poll_timeout, std::chrono::milliseconds(1000));
  EXPECT_EQ(config->zookeeper.connect_timeout, std::chrono::milliseconds(1000));
  EXPECT_EQ(config->zookeeper.read_timeout, std::chrono::milliseconds(1000));
}

TEST(ZookeeperConfig, ErrorsNameFileLineKeyAndReason) {
  EXPECT_EQ(error_of("zookeeper:\n  server: [z:1]\n"),
            "c.yaml:2: zookeeper.server: unknown key (known keys: auth, chroot, connect_timeout, "
            "enabled, kafka_registry, max_reply_bytes, poll_interval, poll_timeout, read_timeout, "
            "servers)");
  EXPECT_EQ(error_of("zookeeper:\n  servers: z:1\n"),
            "c.yaml:2: zookeeper.servers: must be a list");
  EXPECT_EQ(error_of("zookeeper:\n  servers: [zk1]\n"),
            "c.yaml:2: zookeeper.servers: 'zk1' must be host:port");
  EXPECT_EQ(error_of("zookeeper:\n  enabled: maybe\n"),
            "c.yaml:2: zookeeper.enabled: must be true or false, got 'maybe'");
  EXPECT_EQ(error_of("zookeeper:\n  chroot: kafka\n"),
            "c.yaml:2: zookeeper.chroot: must start with '/' and not end with '/' (like /kafka), "
            "got 'kafka'");
  EXPECT_EQ(error_of("zookeeper:\n  poll_interval: 5s\n  poll_timeout: 6s\n"),
            "c.yaml:3: zookeeper.poll_timeout: must be shorter than zookeeper.poll_interval (5s)");
  EXPECT_EQ(
      error_of("zookeeper:\n  poll_timeout: 2s\n  read_timeout: 3s\n"),
      "c.yaml:3: zookeeper.read_timeout: must not be longer than zookeeper.poll_timeout (2s)");
  EXPECT_EQ(
      error_of("zookeeper:\n  connect_timeout: soon\n"),
      "c.yaml:2: zookeeper.connect_timeout: must be a positive duration like 500ms, 30s or 2m, "
      "got 'soon'");
  EXPECT_EQ(
      error_of("zookeeper:\n  max_reply_bytes: 10\n"),
      "c.yaml:2: zookeeper.max_reply_bytes: must be an integer from 1024 to 1073741824, got '10'");
  EXPECT_EQ(error_of("zookeeper:\n  auth: {scheme: sasl, user: u, password_file: /x}\n"),
            "c.yaml:2: zookeeper.auth.scheme: must be digest, got 'sasl'");
  EXPECT_EQ(error_of("zookeeper:\n  auth: {user: u}\n"),
            "c.yaml:2: zookeeper.auth.password_file: is required");
  EXPECT_EQ(error_of("zookeeper:\n  auth: {password_file: /x}\n"),
            "c.yaml:2: zookeeper.auth.user: is required");
  EXPECT_EQ(error_of("zookeeper:\n  auth:\n    user: u\n    password_file: /nonexistent/pw\n"),
            "c.yaml:4: zookeeper.auth.password_file: cannot read file '/nonexistent/pw'");
  EXPECT_EQ(
      error_of("zookeeper:\n  auth:\n    user: u\n    password: x\n"),
      "c.yaml:4: zookeeper.auth.password: unknown key (known keys: password_file, scheme, user)");
}

TEST(ZookeeperConfig, EnabledWithoutServersIsAnError) {
  auto config = parse_config("kafka: {servers: [a:1]}\nzookeeper: {enabled: true}\n", "c.yaml");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(validate_config(*config)->message,
            "c.yaml: zookeeper.servers: no ZooKeeper servers configured (set zookeeper.servers or "
            "--zookeeper.server, or set zookeeper.enabled: false)");
}

TEST(ZookeeperConfig, OnlyZookeeperIsAValidConfiguration) {
  Flags flags;
  flags.zookeeper_servers = {"z1:2181", "z2:2181"};
  auto config = build_config(flags);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_TRUE(config->zookeeper_enabled);
  EXPECT_FALSE(config->kafka_enabled);
  EXPECT_EQ(config->zookeeper.servers, (std::vector<std::string>{"z1:2181", "z2:2181"}));

  auto parsed = parse_config("kafka: {enabled: false}\nzookeeper: {servers: [z:1]}\n", "c.yaml");
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(validate_config(*parsed));

  // Kafka asked for explicitly but without brokers stays an error.
  std::string path = ::testing::TempDir() + "khe_zk_only.yaml";
  std::ofstream(path) << "kafka: {enabled: true}\n";
  flags.config_file = path;
  EXPECT_EQ(build_config(flags).error().message,
            path +
                ": kafka.servers: no Kafka brokers configured (set kafka.servers or "
                "--kafka.server, or set kafka.enabled: false)");
  std::remove(path.c_str());
}

TEST(Flags, ZookeeperServerIsRepeatableAndChecked) {
  auto flags = parse_flags({"--zookeeper.server", "z1:2181", "--zookeeper.server=z2:2181"});
  ASSERT_TRUE(flags.ok());
  EXPECT_EQ(flags->zookeeper_servers, (std::vector<std::string>{"z1:2181", "z2:2181"}));
  EXPECT_EQ(parse_flags({"--zookeeper.server", "z1"}).error().message,
            "flag --zookeeper.server: 'z1' must be host:port");
}

TEST(JmxConfig, OffByDefault) {
  Flags flags;
  flags.kafka_servers = {"a:1"};
  auto config = build_config(flags);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_FALSE(config->jmx_enabled);
}

TEST(JmxConfig, SidecarDefaultIsTheLocalAgentWithoutBrokerLabel) {
  std::string rules = ::testing::TempDir() + "khe_rules.yaml";
  std::ofstream(rules) << "rules: []\n";
  Flags flags;
  flags.jmx_rules_file = rules;
  auto config = build_config(flags);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_TRUE(config->jmx_enabled);
  EXPECT_FALSE(config->kafka_enabled);  // only JMX asked for
  ASSERT_EQ(config->jmx.targets.size(), 1u);
  EXPECT_EQ(config->jmx.targets[0].url, "http://127.0.0.1:8778/jolokia/");
  EXPECT_EQ(config->jmx.targets[0].broker, "");
  EXPECT_EQ(config->jmx.rules_file, rules);
  std::remove(rules.c_str());
}

TEST(JmxConfig, SeveralUrlsAreLabelledByHostPort) {
  Flags flags;
  flags.jolokia_urls = {"http://b0:8778/jolokia/", "https://user@b1:8779/jolokia"};
  auto config = build_config(flags);
  ASSERT_TRUE(config.ok()) << config.error().message;
  ASSERT_EQ(config->jmx.targets.size(), 2u);
  EXPECT_EQ(config->jmx.targets[0].broker, "b0:8778");
  EXPECT_EQ(config->jmx.targets[1].broker, "b1:8779");
}

TEST(JmxConfig, SidecarBrokerLabelComesFromTheFlag) {
  Flags flags;
  flags.jolokia_urls = {"http://127.0.0.1:8778/jolokia/"};
  flags.jmx_broker = "kafka-2";
  auto config = build_config(flags);
  ASSERT_TRUE(config.ok()) << config.error().message;
  ASSERT_EQ(config->jmx.targets.size(), 1u);
  EXPECT_EQ(config->jmx.targets[0].broker, "kafka-2");

  flags.jolokia_urls.push_back("http://10.0.0.8:8778/jolokia/");
  auto two = build_config(flags);
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error().message,
            "flag --jmx.broker: labels the only JMX target, but there are 2; set "
            "jmx.targets[].broker instead");
  EXPECT_EQ(parse_flags({"--jmx.broker="}).error().message, "flag --jmx.broker: must not be empty");
}

TEST(JmxConfig, FullSectionParses) {
  std::string secret = ::testing::TempDir() + "khe_jolokia_password";
  std::ofstream(secret) << "s3cret\n";
  auto config = parse_config(R"(
jmx:
  counter_naming: "1.x"
  jvm_metrics: false
  poll_interval: 10s
  poll_timeout: 4s
  read_timeout: 3s
  max_reply_bytes: 1048576
  targets:
    - {url: "http://k0:8778/jolokia/", broker: "0", user: mon, password_file: ")" +
                                 secret + R"("}
    - {url: "https://k1:8778/jolokia/", broker: "1", insecure_skip_verify: true}
)",
                             "c.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_TRUE(config->jmx_enabled);
  EXPECT_EQ(config->jmx.counter_naming, jmx::CounterNaming::kJmxExporter1x);
  EXPECT_FALSE(config->jmx.jvm_metrics);
  EXPECT_EQ(config->jmx.poll_timeout, std::chrono::seconds(4));
  ASSERT_EQ(config->jmx.targets.size(), 2u);
  EXPECT_EQ(config->jmx.targets[0].password, "s3cret");
  EXPECT_EQ(config->jmx.targets[0].read_timeout, std::chrono::seconds(3));
  EXPECT_EQ(config->jmx.targets[0].connect_timeout, std::chrono::seconds(2));
  EXPECT_EQ(config->jmx.targets[1].max_reply_bytes, 1048576u);
  EXPECT_TRUE(config->jmx.targets[1].insecure_skip_verify);
  auto described = describe_config(*config);
  EXPECT_EQ(described.find("s3cret"), std::string::npos);
  EXPECT_NE(described.find("password_file"), std::string::npos);
  std::remove(secret.c_str());
}

TEST(JmxConfig, ErrorsNameFileLineKeyAndReason) {
  EXPECT_EQ(error_of("jmx:\n  targets:\n    - {url: k0:8778}\n"),
            "c.yaml:3: jmx.targets[0].url: must start with http:// or https://, got 'k0:8778'");
  EXPECT_EQ(error_of("jmx:\n  counter_naming: 2\n"),
            "c.yaml:2: jmx.counter_naming: must be 0.20 or 1.x, got '2'");
  EXPECT_EQ(error_of("jmx:\n  rules_file: /nonexistent/rules.yaml\n"),
            "c.yaml:2: jmx.rules_file: cannot read file '/nonexistent/rules.yaml'");
  EXPECT_EQ(error_of("jmx:\n  poll_interval: 5s\n  read_timeout: 10s\n"),
            "c.yaml:3: jmx.read_timeout: must not be longer than jmx.poll_timeout (3333ms)");
  EXPECT_EQ(error_of("jmx:\n  targets:\n    - {url: 'http://a/', pasword_file: x}\n"),
            "c.yaml:3: jmx.targets[0].pasword_file: unknown key (known keys: broker, ca_file, "
            "insecure_skip_verify, password_file, url, user)");
}

TEST(Flags, JolokiaUrlIsRepeatableAndChecked) {
  auto flags = parse_flags({"--jolokia.url", "http://a:8778/jolokia/",
                            "--jolokia.url=http://b:8778/jolokia/", "--jmx.config", "r.yaml"});
  ASSERT_TRUE(flags.ok());
  EXPECT_EQ(flags->jolokia_urls.size(), 2u);
  EXPECT_EQ(*flags->jmx_rules_file, "r.yaml");
  EXPECT_EQ(parse_flags({"--jolokia.url", "a:8778"}).error().message,
            "flag --jolokia.url: 'a:8778' must start with http:// or https://");
}

TEST(ProbeConfig, OffByDefaultAndOptIn) {
  auto config = parse_config("kafka: {servers: [a:9092]}\n", "c.yaml");
  ASSERT_TRUE(config.ok());
  EXPECT_FALSE(config->probe_enabled);
  config = parse_config(R"(
kafka: {servers: [a:9092]}
probe:
  enabled: true
  topic: e2e.probe
  group: e2e-probe
  interval: 250ms
  message_size: 512
  acks: -1
  replication_factor: 2
  partitions_per_broker: 2
  create_topic: false
  add_partitions: true
  produce_timeout: 2s
  loss_timeout: 20s
  latency_buckets: [0.005, 0.01, 0.05, 1]
)",
                        "c.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  const auto& p = config->probe;
  EXPECT_TRUE(config->probe_enabled);
  EXPECT_EQ(p.topic, "e2e.probe");
  EXPECT_EQ(p.group, "e2e-probe");
  EXPECT_EQ(p.interval, std::chrono::milliseconds(250));
  EXPECT_EQ(p.message_size, 512);
  EXPECT_EQ(p.acks, "all");
  EXPECT_EQ(p.replication_factor, 2);
  EXPECT_EQ(p.partitions_per_broker, 2);
  EXPECT_FALSE(p.create_topic);
  EXPECT_TRUE(p.add_partitions);
  EXPECT_EQ(p.produce_timeout, std::chrono::seconds(2));
  EXPECT_EQ(p.loss_timeout, std::chrono::seconds(20));
  EXPECT_EQ(p.latency_buckets, (std::vector<double>{0.005, 0.01, 0.05, 1}));
  auto described = describe_config(config.value());
  EXPECT_NE(described.find("probe:\n  enabled: true\n  topic: e2e.probe"), std::string::npos)
      << described;
}

TEST(ProbeConfig, ErrorsNameFileLineKeyAndReason) {
  EXPECT_EQ(error_of("probe:\n  enabled: true\n  topik: x\n"),
            "c.yaml:3: probe.topik: unknown key (known keys: acks, add_partitions, create_topic, "
            "enabled, group, interval, latency_buckets, loss_timeout, message_size, "
            "partitions_per_broker, produce_timeout, replication_factor, topic)");
  EXPECT_EQ(error_of("probe:\n  topic: 'a b'\n"),
            "c.yaml:2: probe.topic: must be a Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -), "
            "got 'a b'");
  EXPECT_EQ(error_of("probe:\n  interval: 10ms\n"),
            "c.yaml:2: probe.interval: must be at least 100ms");
  EXPECT_EQ(error_of("probe:\n  message_size: 8\n"),
            "c.yaml:2: probe.message_size: must be an integer from 32 to 1000000, got '8'");
  EXPECT_EQ(error_of("probe:\n  acks: 0\n"),
            "c.yaml:2: probe.acks: must be all or 1 (with 0 nothing is acknowledged, so nothing "
            "can be called lost), got '0'");
  EXPECT_EQ(error_of("probe:\n  produce_timeout: 40s\n"),
            "c.yaml:2: probe.produce_timeout: must be shorter than probe.loss_timeout (30s): a "
            "message is only lost once it was acknowledged");
  EXPECT_EQ(error_of("probe:\n  latency_buckets: [0.01, 0.005]\n"),
            "c.yaml:2: probe.latency_buckets: bounds must be positive and increasing");
  EXPECT_EQ(error_of("probe:\n  latency_buckets: [0.01, fast]\n"),
            "c.yaml:2: probe.latency_buckets: must be a number, got 'fast'");
  EXPECT_EQ(error_of("probe:\n  latency_buckets: []\n"),
            "c.yaml:2: probe.latency_buckets: must be a list of 1 to 100 bucket bounds in seconds");
}

TEST(ProbeConfig, NeedsKafkaBrokersEvenWithTheKafkaCollectorOff) {
  auto path = std::string(::testing::TempDir()) + "probe.yaml";
  {
    std::ofstream out(path);
    out << "kafka:\n  enabled: false\nprobe:\n  enabled: true\n";
  }
  Flags flags;
  flags.config_file = path;
  auto config = build_config(flags);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().message,
            path +
                ": probe.enabled: the probe needs Kafka brokers (set kafka.servers or "
                "--kafka.server; it uses the kafka section's connection properties)");
  flags.kafka_servers = {"a:9092"};
  config = build_config(flags);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_FALSE(config->kafka_enabled);
  EXPECT_TRUE(config->probe_enabled);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace khe
