// Java regex semantics on PCRE2: what Java accepts and rejects, what matches, which groups
// capture what, and Matcher.replaceAll's template syntax. Expected values were checked against
// java.util.regex on OpenJDK 17 (the JVM the brokers and jmx_exporter run on).
#include "khe/jmx/java_regex.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace khe::jmx {
namespace {

// Java: Pattern.compile("^.*(?:" + p + ").*$").matcher(s).matches()
bool matches(const std::string& pattern, const std::string& subject) {
  auto regex = JavaRegex::compile(pattern);
  EXPECT_TRUE(regex.ok()) << pattern << ": " << regex.error().to_string();
  if (!regex) return false;
  return regex->full_match(subject, nullptr);
}

// The expansion of `tpl` for the match of `pattern` on `subject`, or "<nomatch>".
std::string replace(const std::string& pattern, const std::string& subject,
                    const std::string& tpl) {
  auto regex = JavaRegex::compile(pattern);
  if (!regex) return "<bad pattern: " + regex.error().message + ">";
  auto replacement = JavaReplacement::parse(tpl, &*regex);
  if (!replacement) return "<bad template: " + replacement.error().message + ">";
  const std::size_t* groups = nullptr;
  if (!regex->full_match(subject, &groups)) return "<nomatch>";
  std::string out;
  replacement->expand(subject, groups, out);
  return out;
}

std::string compile_error(const std::string& pattern) {
  auto regex = JavaRegex::compile(pattern);
  return regex ? "" : regex.error().message;
}

TEST(JavaRegex, PatternsAreUnanchoredButMatchTheWholeString) {
  EXPECT_TRUE(matches("server<type=", "kafka.server<type=X><>Count: 1"));
  EXPECT_TRUE(matches("Count", "kafka.server<type=X><>Count: 1"));
  EXPECT_FALSE(matches("Value", "kafka.server<type=X><>Count: 1"));
  // An alternation at the top of the pattern stays inside the wrapper's group.
  EXPECT_TRUE(matches("nothing|Count", "a<b=c><>Count: 1"));
  // `.` stops at line breaks, as in Java: a value with a newline cannot be crossed by .*
  EXPECT_FALSE(matches("a", "a\nb"));
  EXPECT_TRUE(matches("a\\nb", "a\nb"));
  EXPECT_TRUE(matches("(?s)a.b", "a\nb"));
}

TEST(JavaRegex, TheGreedyPrefixTakesTheRightmostMatch) {
  // jmx_exporter's best-known surprise: ^.* swallows as much as it can.
  EXPECT_EQ(replace("(\\w+)PerSec", "k<type=X, name=MessagesInPerSec><>Count: 1", "[$1]"), "[n]");
  EXPECT_EQ(replace("name=(\\w+)PerSec", "k<type=X, name=MessagesInPerSec><>Count: 1", "[$1]"),
            "[MessagesIn]");
}

TEST(JavaRegex, ReplacementTemplatesFollowMatcherReplaceAll) {
  const std::string s = "k<type=X, name=Foo><>Count: 1";
  // $10 with one group is group 1 followed by '0'.
  EXPECT_EQ(replace("name=(\\w+)", s, "$10"), "Foo0");
  EXPECT_EQ(replace("(?<n>name)=(\\w+)", s, "${n}-$2"), "name-Foo");
  EXPECT_EQ(replace("name=(\\w+)", s, "\\$1 is $1, a \\\\ backslash"), "$1 is Foo, a \\ backslash");
  // A group that did not take part in the match expands to nothing.
  EXPECT_EQ(replace("(Foo)|(Count)", s, "[$1][$2]"), "[][Count]");
  // Twelve groups: $12 is group 12, $13 is group 1 and '3'.
  EXPECT_EQ(replace("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)", "abcdefghijkl", "$12 $13"), "l a3");
}

TEST(JavaRegex, BadTemplatesAreRejectedWhenLoading) {
  auto regex = JavaRegex::compile("name=(\\w+)");
  ASSERT_TRUE(regex.ok());
  for (const char* bad : {"$", "x\\", "$x", "${}", "${n", "${1a}", "${nope}", "$2"}) {
    EXPECT_FALSE(JavaReplacement::parse(bad, &*regex).ok()) << bad;
  }
  EXPECT_TRUE(JavaReplacement::parse("plain text", nullptr).ok());
  EXPECT_FALSE(JavaReplacement::parse("$1", nullptr).ok());  // no pattern, no groups
}

TEST(JavaRegex, RejectsWhatJavaRejects) {
  for (const char* bad : {"a{",          "{",     "a{,3}",    "x{2,1}",
                          "*a",          "a**",   "(?P<x>a)", "(?<a_b>x)",
                          "\\y",         "\\0",   "\\08",     "[]",
                          "[a",          "(a",    "a)",       "(?<n>a)(?<n>b)",
                          "\\k<nope>",   "\\x4",  "\\u12",    "[z-a]",
                          "(?#comment)", "(?|a)", "(?R)"}) {
    // "a)" alone is fine inside jmx_exporter's wrapper, which closes it: see below.
    if (std::string(bad) == "a)") continue;
    EXPECT_NE(compile_error(bad), "") << bad;
  }
  // Java compiles ^.*(?:a)(b).*$ for the pattern "a)(b": so does this.
  EXPECT_EQ(replace("a)(b", "xab", "$1"), "b");
}

TEST(JavaRegex, AcceptsJavaOnlySyntax) {
  EXPECT_TRUE(matches("[]a]", "]"));
  EXPECT_TRUE(matches("^[^]a]$", "b"));
  EXPECT_FALSE(matches("^[^]a]$", "]"));
  // Intersections and nested classes (Java 9+ semantics: a negation covers the nested class).
  EXPECT_TRUE(matches("^[a-z&&[^aeiou]]$", "b"));
  EXPECT_FALSE(matches("^[a-z&&[^aeiou]]$", "a"));
  EXPECT_TRUE(matches("^[a-c&&b-d]$", "b"));
  EXPECT_FALSE(matches("^[a-c&&b-d]$", "a"));
  EXPECT_TRUE(matches("^[a-d[m-p]]$", "n"));
  EXPECT_FALSE(matches("^[^a[b]]$", "b"));
  EXPECT_TRUE(matches("^[^a[b]]$", "c"));
  EXPECT_FALSE(matches("^[\\w&&[^\\d]]$", "5"));
  EXPECT_TRUE(matches("^[a-z&&def]$", "d"));
  // POSIX classes by Java's names, Unicode escapes, octal, control.
  EXPECT_TRUE(matches("^\\p{Lower}\\p{Upper}\\p{Digit}\\p{Punct}$", "aZ5!"));
  EXPECT_FALSE(matches("^\\p{Lower}$", "A"));
  EXPECT_TRUE(matches("^\\P{Lower}$", "A"));
  EXPECT_TRUE(matches("^[\\p{Alpha}_]+$", "ab_C"));
  EXPECT_TRUE(matches("^\\u0041\\x42\\x{43}\\0104\\cA\\e$", "ABCD\x01\x1b"));
  EXPECT_TRUE(matches("^\\p{L}\\p{IsLatin}$", "\xC3\xA9z"));
  // \Q...\E quotes, also inside classes.
  EXPECT_TRUE(matches("^\\Qa.b\\E.$", "a.bc"));
  EXPECT_FALSE(matches("^\\Qa.b\\E$", "axb"));
  EXPECT_TRUE(matches("^[\\Qa-c\\E]$", "-"));
  EXPECT_FALSE(matches("^[\\Qa-c\\E]$", "b"));
  // Comments mode, with Java's whitespace-in-classes rule.
  // (A comment runs to the end of the line: without one it would swallow jmx_exporter's ").*$".)
  EXPECT_TRUE(matches("(?x) a b # comment\n", "ab"));
  EXPECT_NE(compile_error("(?x) a b # comment"), "");
  EXPECT_FALSE(matches("(?x)^[a b]$", " "));
  EXPECT_TRUE(matches("(?x)a\\ b", "a b"));
  // (?U) is UNICODE_CHARACTER_CLASS in Java, not PCRE2's ungreedy switch.
  EXPECT_EQ(replace("(?U)a(b+)", "abbb", "$1"), "bbb");
  // Possessive, lazy, atomic, lookarounds, named groups and backreferences.
  EXPECT_TRUE(matches("^a++b$", "aab"));
  EXPECT_FALSE(matches("^a++a$", "aaa"));
  EXPECT_EQ(replace("^(a+?)(a*)$", "aaa", "$1|$2"), "a|aa");
  EXPECT_FALSE(matches("^(?>a+)a$", "aaa"));
  EXPECT_TRUE(matches("^(?<n>a)\\k<n>$", "aa"));
  EXPECT_TRUE(matches("^(a)\\11$", "aa1"));  // \11 with one group: group 1, then '1'
  EXPECT_FALSE(matches("^(a)\\11$", "a\t"));
  EXPECT_TRUE(matches("(?<=a)b(?!c)", "abd"));
  // a{2}{3}: Java repeats nothing with the second quantifier.
  EXPECT_TRUE(matches("^a{2}{3}$", "aa"));
  EXPECT_FALSE(matches("^a{2}{3}$", "aaaaaa"));
  // Case-insensitive matching.
  EXPECT_TRUE(matches("(?i)^KAFKA$", "kafka"));
  EXPECT_TRUE(matches("^(?i:K)afka$", "kafka"));
  EXPECT_FALSE(matches("^(?i:K)AFKA$", "kafka"));
}

TEST(JavaRegex, ReportsUnsupportedJavaSyntaxClearly) {
  EXPECT_NE(compile_error("\\N{LATIN SMALL LETTER A}").find("not supported"), std::string::npos);
  EXPECT_NE(compile_error("\\b{g}").find("not supported"), std::string::npos);
  EXPECT_NE(compile_error("\\p{InGreek}").find("not supported"), std::string::npos);
  // Java accepts variable-length lookbehind; PCRE2 10.42 does not.
  EXPECT_NE(compile_error("(?<=a+)b").find("PCRE2"), std::string::npos);
}

TEST(JavaRegex, ExposesGroupsOfTheWrappedPattern) {
  auto regex = JavaRegex::compile("(?<type>\\w+)=(\\w+)");
  ASSERT_TRUE(regex.ok());
  EXPECT_EQ(regex->capture_count(), 2);
  EXPECT_EQ(regex->group_number("type"), 1);
  EXPECT_EQ(regex->group_number("other"), -1);
}

TEST(JavaRegex, ThreadsMatchIndependently) {
  auto regex = JavaRegex::compile("name=(\\w+)");
  ASSERT_TRUE(regex.ok());
  const std::size_t* groups = nullptr;
  ASSERT_TRUE(regex->full_match("a<name=Foo>", &groups));
  EXPECT_EQ(groups[2], 7u);
  EXPECT_EQ(groups[3], 10u);
}

TEST(JavaDouble, ParsesWhatDoubleValueOfParses) {
  struct Case {
    const char* text;
    double value;
  };
  for (const auto& c : {Case{"1", 1}, Case{" 2.5 ", 2.5}, Case{"-3", -3}, Case{"+4", 4},
                        Case{"1.", 1}, Case{".5", 0.5}, Case{"1e3", 1000}, Case{"1E-2", 0.01},
                        Case{"7d", 7}, Case{"7.5F", 7.5}, Case{"0x1.8p1", 3}, Case{"0X10P0", 16},
                        Case{"Infinity", HUGE_VAL}, Case{"-Infinity", -HUGE_VAL},
                        Case{"1e400", HUGE_VAL}, Case{"1e-400", 0}, Case{"\t17\n", 17}}) {
    auto parsed = parse_java_double(c.text);
    ASSERT_TRUE(parsed.has_value()) << c.text;
    EXPECT_EQ(*parsed, c.value) << c.text;
  }
  EXPECT_TRUE(std::isnan(*parse_java_double("NaN")));
  EXPECT_TRUE(std::isnan(*parse_java_double("-NaN")));
  for (const char* bad : {"", " ", "a", "1a", "1e", ".", "e5", "inf", "nan", "0x10", "1,5", "1 2",
                          "--1", "Infinityx", "0x.p1", "true", "null", "1_000"}) {
    EXPECT_FALSE(parse_java_double(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace khe::jmx
