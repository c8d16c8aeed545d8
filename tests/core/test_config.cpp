#include <gtest/gtest.h>

#include <fstream>

#include "common/test_util.h"
#include "core/config.h"
#include "core/errors.h"

using namespace s3e;

namespace {
ConfigSchema make_schema() {
  ConfigSchema s;
  s.add_int("store.chunk_kib", 64, "chunk size", 10, 1024)
      .add_real("synth.leak", 0.1, "leak", 0, 1)
      .add_bool("store.compress", false, "gzip")
      .add_choice("train.routing", "hard", {"hard", "soft"}, "routing")
      .add_text("synth.edit_layers", "0-10", "layers");
  return s;
}
}  // namespace

TEST(Config, DefaultsWhenNothingGiven) {
  auto schema = make_schema();
  Config c = config_resolve(schema, {}, {});
  EXPECT_EQ(c.get_int("store.chunk_kib"), 64);
  EXPECT_DOUBLE_EQ(c.get_real("synth.leak"), 0.1);
  EXPECT_FALSE(c.get_bool("store.compress"));
  EXPECT_EQ(c.get_text("train.routing"), "hard");
  EXPECT_EQ(c.source_of("store.chunk_kib"), "default");
}

TEST(Config, PrecedenceCommandLineOverFileOverDefault) {
  auto schema = make_schema();
  test::TempDir dir("config");
  std::ofstream(dir / "a.ini") << "[store]\nchunk_kib = 128\ncompress = true\n[synth]\nleak=0.3\n";
  std::ofstream(dir / "b.ini") << "[store]\nchunk_kib = 256\n";
  Config c = config_resolve(schema, {(dir / "a.ini").string(), (dir / "b.ini").string()},
                            {{"synth.leak", "0.5"}});
  EXPECT_EQ(c.get_int("store.chunk_kib"), 256);  // later file wins
  EXPECT_TRUE(c.get_bool("store.compress"));     // from the first file
  EXPECT_DOUBLE_EQ(c.get_real("synth.leak"), 0.5);  // command line wins
  EXPECT_EQ(c.source_of("synth.leak"), "command line");
  EXPECT_EQ(c.source_of("store.chunk_kib"), (dir / "b.ini").string());
}

TEST(Config, UnknownKeyNamesKeyFileAndKnownKeys) {
  auto schema = make_schema();
  test::TempDir dir("config");
  std::ofstream(dir / "bad.ini") << "[store]\nchunk_kb = 128\n";
  try {
    config_resolve(schema, {(dir / "bad.ini").string()}, {});
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("store.chunk_kb"), std::string::npos) << m;
    EXPECT_NE(m.find("bad.ini"), std::string::npos) << m;
    EXPECT_NE(m.find("store.chunk_kib"), std::string::npos) << m;  // suggests the real key
    EXPECT_EQ(static_cast<int>(e.code()), 2);
  }
}

TEST(Config, OutOfRangeAndMalformedValuesAreUsageErrors) {
  auto schema = make_schema();
  auto expect_error = [&](const std::string& key, const std::string& value, const std::string& fragment) {
    try {
      config_resolve(schema, {}, {{key, value}});
      FAIL() << key << "=" << value << " accepted";
    } catch (const UsageError& e) {
      std::string m = e.what();
      EXPECT_NE(m.find(key), std::string::npos) << m;
      EXPECT_NE(m.find(fragment), std::string::npos) << m;
    }
  };
  expect_error("store.chunk_kib", "5", "[10, 1024]");
  expect_error("store.chunk_kib", "12abc", "not an integer");
  expect_error("synth.leak", "nan", "not a finite number");
  expect_error("synth.leak", "1.5", "out of range");
  expect_error("store.compress", "maybe", "true or false");
  expect_error("train.routing", "fuzzy", "hard, soft");
}

TEST(Config, MalformedIniAndMissingFileAreUsageErrors) {
  auto schema = make_schema();
  test::TempDir dir("config");
  std::ofstream(dir / "broken.ini") << "[store\nchunk_kib = 1\n";
  EXPECT_THROW(config_resolve(schema, {(dir / "broken.ini").string()}, {}), UsageError);
  EXPECT_THROW(config_resolve(schema, {(dir / "missing.ini").string()}, {}), UsageError);
  EXPECT_THROW(config_parse_assignment("no_equals_sign"), UsageError);
}

TEST(Config, EffectiveIniRoundTrips) {
  auto schema = make_schema();
  Config c = config_resolve(schema, {}, {{"store.chunk_kib", "512"}, {"train.routing", "soft"}});
  test::TempDir dir("config");
  std::ofstream(dir / "eff.ini") << c.to_ini();
  Config again = config_resolve(schema, {(dir / "eff.ini").string()}, {});
  EXPECT_EQ(again.get_int("store.chunk_kib"), 512);
  EXPECT_EQ(again.get_text("train.routing"), "soft");
  EXPECT_EQ(again.get_real("synth.leak"), c.get_real("synth.leak"));
}

TEST(Config, IntLists) {
  EXPECT_EQ(config_parse_int_list("0-3,8", "x"), (std::vector<int>{0, 1, 2, 3, 8}));
  EXPECT_EQ(config_parse_int_list("", "x"), std::vector<int>{});
  EXPECT_THROW(config_parse_int_list("3-1", "x"), UsageError);
  EXPECT_THROW(config_parse_int_list("a-b", "x"), UsageError);
}

TEST(Config, IniTextValue) {
  std::string ini = "# effective\n\n[run]\nseed = 3\n\n[synth]\n# help = text\nattribute_scale = 2.5\nlabel_threshold = -0.25\n";
  EXPECT_EQ(ini_text_value(ini, "synth", "attribute_scale"), "2.5");
  EXPECT_EQ(ini_text_value(ini, "synth", "label_threshold"), "-0.25");
  EXPECT_EQ(ini_text_value(ini, "run", "attribute_scale"), "");
  EXPECT_EQ(ini_text_value(ini, "synth", "help"), "");
}
