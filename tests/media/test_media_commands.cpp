// The probe and contact-sheet subcommands, run as a user would.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "common/test_util.h"
#include "media/contact_sheet.h"
#include "media/image_io.h"
#include "media/media_test_util.h"

namespace fs = std::filesystem;
using namespace s3e;
using namespace s3e::test;

namespace {

TEST(ProbeCommand, PrintsWhatTheReaderSees) {
  TempDir dir("media_probe");
  const fs::path json_file = dir / "probe.json";
  CommandResult r = run_s3editor("probe " + shell_quote(media_clip("rotated90.mp4").string()) + " --decode --run-dir " +
                                 shell_quote((dir / "run").string()) + " --out " + shell_quote(json_file.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(read_file(json_file));
  EXPECT_EQ(j["video"]["codec"], "h264");
  EXPECT_EQ(j["video"]["rotation"], 90);
  EXPECT_EQ(j["video"]["width"], k_clip_height);
  EXPECT_EQ(j["video"]["height"], k_clip_width);
  EXPECT_EQ(j["video"]["frames"], k_clip_frames);
  EXPECT_EQ(j["video"]["frames_decoded"], k_clip_frames);
  EXPECT_NEAR(j["video"]["fps"].get<double>(), k_clip_fps, 1e-6);
  EXPECT_NEAR(j["video"]["duration_s"].get<double>(), 1.6, 1e-3);
  EXPECT_EQ(j["video"]["variable_frame_rate"], false);
  EXPECT_NE(r.output.find("\"rotation\": 90"), std::string::npos) << "JSON not printed: " << r.output;

  r = run_s3editor("probe " + shell_quote(media_clip("vfr.mp4").string()) + " --run-dir " +
                   shell_quote((dir / "run").string()) + " --out " + shell_quote(json_file.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(read_file(json_file))["video"]["variable_frame_rate"], true);

  r = run_s3editor("probe " + shell_quote(media_clip("aac.mp4").string()) + " --run-dir " +
                   shell_quote((dir / "run").string()) + " --out " + shell_quote(json_file.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto audio = nlohmann::json::parse(read_file(json_file))["audio"];
  ASSERT_EQ(audio.size(), 1u);
  EXPECT_EQ(audio[0]["codec"], "aac");
}

TEST(ProbeCommand, BadFileExitsWithDataErrorNamingIt) {
  TempDir dir("media_probe");
  std::ofstream(dir / "notes.mp4") << "not a video";
  CommandResult r = run_s3editor("probe " + shell_quote((dir / "notes.mp4").string()) + " --run-dir " +
                                 shell_quote((dir / "run").string()));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("notes.mp4"), std::string::npos) << r.output;
}

TEST(ContactSheet, SamplesFirstToLastFrame) {
  ContactSheetOptions options;
  options.frames = 6;
  options.columns = 3;
  options.tile_width = 80;
  options.gap = 2;
  ContactSheet sheet = contact_sheet_make(media_clip("h264.mp4").string(), options);
  EXPECT_EQ(sheet.frame_indices, (std::vector<int64_t>{0, 8, 16, 23, 31, 39}));
  EXPECT_EQ(sheet.image.width, 3 * 80 + 4 * 2);
  EXPECT_EQ(sheet.image.height, 2 * 60 + 3 * 2);
  // Tile 5 (row 1, column 2) shows frame 39, scaled.
  Frame tile = frame_make(80, 60);
  for (int y = 0; y < 60; ++y)
    for (int x = 0; x < 80; ++x)
      std::copy_n(sheet.image.pixel(2 + 2 * 82 + x, 2 + 62 + y), 3, tile.pixel(x, y));
  EXPECT_EQ(pattern_index(tile), 39);
}

TEST(ContactSheet, CommandWritesThePicture) {
  TempDir dir("media_sheet");
  const fs::path out = dir / "sheet.png";
  CommandResult r = run_s3editor("contact-sheet " + shell_quote(media_clip("mpeg1.mpg").string()) + " --out " +
                                 shell_quote(out.string()) + " --frames 4 --columns 2 --tile-width 100 --run-dir " +
                                 shell_quote((dir / "run").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Frame sheet = image_read_rgb(out.string());
  EXPECT_EQ(sheet.width, 2 * 100 + 3 * 4);
  EXPECT_EQ(sheet.height, 2 * 75 + 3 * 4);
}

}  // namespace
