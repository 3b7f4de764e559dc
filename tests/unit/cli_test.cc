// Unit tests of the CLI's building blocks (JSON writer, option parser, formatting),
// linked from cairn_cli_lib.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/json.h"

namespace cairn::cli {
namespace {

TEST(JsonQuote, Escapes) {
  EXPECT_EQ(JsonQuote(""), "\"\"");
  EXPECT_EQ(JsonQuote("plain /path"), "\"plain /path\"");
  EXPECT_EQ(JsonQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(JsonQuote("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
  EXPECT_EQ(JsonQuote(std::string("\x01\x1f\x7f", 3)), "\"\\u0001\\u001f\\u007f\"");
  EXPECT_EQ(JsonQuote(std::string("a\0b", 3)), "\"a\\u0000b\"");
  EXPECT_EQ(JsonQuote("/"), "\"/\"");
}

TEST(JsonQuote, Utf8) {
  EXPECT_EQ(JsonQuote("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"),
            "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");  // é € 😀 kept
  EXPECT_EQ(JsonQuote("\xe2\x80\xa8\xe2\x80\xa9"), "\"\\u2028\\u2029\"");
  EXPECT_EQ(JsonQuote("a\xff"
                      "b"),
            "\"a\\ufffdb\"");                                         // invalid byte
  EXPECT_EQ(JsonQuote("\xc3"), "\"\\ufffd\"");                        // truncated sequence
  EXPECT_EQ(JsonQuote("\xc0\xaf"), "\"\\ufffd\\ufffd\"");             // overlong
  EXPECT_EQ(JsonQuote("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
  EXPECT_EQ(JsonQuote("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // > U+10FFFF
}

TEST(JsonWriter, Document) {
  std::ostringstream os;
  JsonWriter w(os);
  w.BeginObject();
  w.Field("name", "ck").Field("version", 3).Field("size", uint64_t{18446744073709551615ull});
  w.Field("neg", -2).Field("ok", true).Key("none").Null();
  w.Key("list").BeginArray().Value(1).Value("two").BeginObject().EndObject().EndArray();
  w.Key("empty").BeginArray().EndArray();
  w.EndObject();
  w.Finish();
  EXPECT_EQ(os.str(),
            "{\n"
            "  \"name\": \"ck\",\n"
            "  \"version\": 3,\n"
            "  \"size\": 18446744073709551615,\n"
            "  \"neg\": -2,\n"
            "  \"ok\": true,\n"
            "  \"none\": null,\n"
            "  \"list\": [\n"
            "    1,\n"
            "    \"two\",\n"
            "    {}\n"
            "  ],\n"
            "  \"empty\": []\n"
            "}\n");
}

const std::vector<OptionSpec> kSpecs = {
    {"json", nullptr, "json output"},
    {"level", "LEVEL", "a level"},
};

TEST(ParseArgs, FlagsValuesAndPositionals) {
  auto a = ParseArgs(kSpecs, {"d1", "--json", "--level", "scratch", "d2", "--level=persistent"});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(a.value().Has("json"));
  EXPECT_FALSE(a.value().help());
  EXPECT_EQ(a.value().Get("level"), "persistent");
  EXPECT_EQ(a.value().GetAll("level"), (std::vector<std::string>{"scratch", "persistent"}));
  EXPECT_EQ(a.value().positional(), (std::vector<std::string>{"d1", "d2"}));
  EXPECT_FALSE(a.value().Get("missing").has_value());
}

TEST(ParseArgs, DoubleDashAndHelp) {
  auto a = ParseArgs(kSpecs, {"-h", "--", "--json", "-"});
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a.value().help());
  EXPECT_FALSE(a.value().Has("json"));
  EXPECT_EQ(a.value().positional(), (std::vector<std::string>{"--json", "-"}));
  auto b = ParseArgs(kSpecs, {"--help"});
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b.value().help());
}

TEST(ParseArgs, WholeNumberTakesDigitsOnlyWithinItsBounds) {
  EXPECT_EQ(WholeNumber("0"), 0);
  EXPECT_EQ(WholeNumber("42", 1, 100), 42);
  EXPECT_EQ(WholeNumber("999999999"), 999999999);
  for (const char* bad : {"", "-1", "+1", " 1", "1 ", "1.5", "0x10", "1e3", "1000000000", "abc"}) {
    EXPECT_FALSE(WholeNumber(bad).has_value()) << "'" << bad << "'";
  }
  EXPECT_FALSE(WholeNumber("0", 1, 10).has_value());
  EXPECT_FALSE(WholeNumber("11", 1, 10).has_value());
}

TEST(ParseArgs, Errors) {
  auto unknown = ParseArgs(kSpecs, {"--jsn"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), Code::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("'--jsn'"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("did you mean '--json'"), std::string::npos);
  EXPECT_EQ(ParseArgs(kSpecs, {"--frobnicate"}).status().message(),
            "unknown option '--frobnicate'");
  EXPECT_FALSE(ParseArgs(kSpecs, {"-x"}).ok());
  EXPECT_FALSE(ParseArgs(kSpecs, {"--level"}).ok());     // value missing
  EXPECT_FALSE(ParseArgs(kSpecs, {"--json=yes"}).ok());  // flag with a value
}

TEST(OptionsHelp, ListsEveryOption) {
  std::string h = OptionsHelp(kSpecs);
  EXPECT_NE(h.find("--json"), std::string::npos);
  EXPECT_NE(h.find("--level LEVEL"), std::string::npos);
  EXPECT_NE(h.find("--help"), std::string::npos);
}

TEST(Format, HumanSize) {
  EXPECT_EQ(HumanSize(0), "0 B");
  EXPECT_EQ(HumanSize(1023), "1023 B");
  EXPECT_EQ(HumanSize(1024), "1.0 KiB");
  EXPECT_EQ(HumanSize(1536), "1.5 KiB");
  EXPECT_EQ(HumanSize(1048575), "1.0 MiB");
  EXPECT_EQ(HumanSize(3ull << 30), "3.0 GiB");
  EXPECT_EQ(HumanSize(5ull << 40), "5.0 TiB");
}

TEST(Format, HexTimeAndPaths) {
  EXPECT_EQ(Hex16(0xabc), "0000000000000abc");
  EXPECT_EQ(IsoTimeUtc(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(IsoTimeUtc(1714566896789000000ull), "2024-05-01T12:34:56.789Z");
  EXPECT_EQ(WithoutPath("'/a/b': table checksum mismatch", "/a/b"), "table checksum mismatch");
  EXPECT_EQ(WithoutPath("'/a/b' is truncated", "/a/b"), "is truncated");
  EXPECT_EQ(WithoutPath("cannot open '/a/b': EACCES", "/a/b"), "cannot open '/a/b': EACCES");
}

TEST(Format, Table) {
  std::ostringstream os;
  PrintTable(os, {{"NAME", "N", "X"}, {"long_name", "10", ""}, {"a", "2", "z"}}, {1});
  EXPECT_EQ(os.str(),
            "NAME        N  X\n"
            "long_name  10\n"
            "a           2  z\n");
}

}  // namespace
}  // namespace cairn::cli
