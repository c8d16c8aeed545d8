// The TFJS manifest loader: tfjs-exact dequantisation and a clear DataError for every inconsistency.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "common/test_util.h"
#include "core/errors.h"
#include "face/face_models.h"
#include "face/tfjs_weights.h"

namespace fs = std::filesystem;

namespace s3e::test {
namespace {

class TfjsWeightsTest : public ::testing::Test {
 protected:
  TempDir dir_{"tfjs_weights"};
  fs::path write(const std::string& manifest, const std::vector<uint8_t>& bin, const std::string& bin_name = "m.bin") {
    std::ofstream(dir_ / "m-weights_manifest.json") << manifest;
    std::ofstream out(dir_ / bin_name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bin.data()), static_cast<std::streamsize>(bin.size()));
    return dir_ / "m-weights_manifest.json";
  }
  // Loading must fail with a DataError that names the manifest and contains `fragment`.
  void expect_error(const fs::path& manifest, const std::string& fragment) {
    try {
      TfjsWeights::load(manifest);
      FAIL() << "no error; expected: " << fragment;
    } catch (const DataError& e) {
      std::string what = e.what();
      EXPECT_NE(what.find(manifest.string()), std::string::npos) << what;
      EXPECT_NE(what.find(fragment), std::string::npos) << what;
    }
  }
};

const char* k_two = R"([{"paths": ["m.bin"], "weights": [
  {"name": "a", "shape": [2, 2], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": 0.0123456789, "min": -1.1}},
  {"name": "b", "shape": [2], "dtype": "float32"}]}])";

std::vector<uint8_t> two_bin() {
  std::vector<uint8_t> bin = {0, 7, 200, 255, 0, 0, 0, 0, 0, 0, 0, 0};
  const float b[2] = {1.5f, -2.25f};
  std::memcpy(bin.data() + 4, b, sizeof b);
  return bin;
}

TEST_F(TfjsWeightsTest, DequantisesInDoubleLikeTfjs) {
  auto w = TfjsWeights::load(write(k_two, two_bin()));
  const auto& a = w.get("a", {2, 2});
  const uint8_t q[4] = {0, 7, 200, 255};
  int differs_from_float_math = 0;
  for (int i = 0; i < 4; ++i) {
    float expected = static_cast<float>(double(q[i]) * 0.0123456789 + -1.1);
    EXPECT_EQ(a.values[i], expected);
    differs_from_float_math += a.values[i] != float(q[i]) * 0.0123456789f + -1.1f;
  }
  EXPECT_GT(differs_from_float_math, 0);  // the float32 shortcut really is different on these values
  EXPECT_EQ(w.get("b", {2}).values, (std::vector<float>{1.5f, -2.25f}));
}

TEST_F(TfjsWeightsTest, RejectsByteCountMismatch) {
  auto bin = two_bin();
  bin.pop_back();
  expect_error(write(k_two, bin), "needs bytes");
  bin = two_bin();
  bin.push_back(0);
  expect_error(write(k_two, bin), "describes 12 bytes but its .bin data holds 13");
}

TEST_F(TfjsWeightsTest, RejectsUnknownQuantisationAndDtype) {
  std::string m = k_two;
  expect_error(write(std::string(m).replace(m.find("\"uint8\""), 7, "\"int4\""), two_bin()),
               "unknown quantization dtype 'int4'");
  expect_error(write(std::string(m).replace(m.rfind("\"float32\""), 9, "\"complex64\""), two_bin()),
               "unsupported dtype 'complex64'");
  expect_error(write(std::string(m).replace(m.find("\"scale\""), 7, "\"scal\""), two_bin()), "'scale'");
}

TEST_F(TfjsWeightsTest, RejectsMalformedManifests) {
  expect_error(write("{not json", two_bin()), "not valid JSON");
  expect_error(write("{}", two_bin()), "non-empty JSON array");
  expect_error(write(R"([{"paths": ["m.bin"], "weights": [{"name": "a", "shape": [2, -1], "dtype": "float32"}]}])",
                     two_bin()), "invalid dimension");
  expect_error(write(R"([{"paths": ["m.bin"], "weights": [{"name": "a", "shape": [1], "dtype": "float32"},
                         {"name": "a", "shape": [1], "dtype": "float32"}]}])", std::vector<uint8_t>(8)),
               "appears twice");
  expect_error(write(R"([{"paths": ["../m.bin"], "weights": []}])", {}), "leaves the model folder");
  expect_error(write(R"([{"paths": ["missing.bin"], "weights": []}])", {}), "cannot read weight shard");
  expect_error(dir_ / "absent-weights_manifest.json", "cannot read the weight manifest");
}

TEST_F(TfjsWeightsTest, LookupChecksNameAndShape) {
  auto w = TfjsWeights::load(write(k_two, two_bin()));
  EXPECT_THROW(w.get("a", {4}), DataError);
  EXPECT_THROW(w.get("zzz", {2}), DataError);
  try {
    w.get("a", {4});
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("has shape [2,2], expected [4]"), std::string::npos) << e.what();
  }
}

TEST_F(TfjsWeightsTest, ConcatenatesShards) {
  std::string m = R"([{"paths": ["m.bin", "m2.bin"], "weights": [{"name": "a", "shape": [3], "dtype": "int32",
                      "quantization": {"dtype": "uint8", "scale": 0.5, "min": 1}}]}])";
  write(m, {1, 2});
  std::ofstream(dir_ / "m2.bin", std::ios::binary) << '\x05';
  auto w = TfjsWeights::load(dir_ / "m-weights_manifest.json");
  // int32: Math.round(q * scale + min) = round(1.5, 2, 3.5) = 2, 2, 4
  EXPECT_EQ(w.tensors().at("a").ints, (std::vector<int32_t>{2, 2, 4}));
}

TEST(TfjsWeightsReal, EveryFaceApiModelLoadsAndUsesItsWholeFile) {
  for (auto model : {"tiny_face_detector_model", "face_landmark_68_model", "face_recognition_model",
                     "age_gender_model", "face_expression_model", "ssd_mobilenetv1_model"}) {
    auto w = TfjsWeights::load(tfjs_manifest_path(face_model_dir(), model));
    EXPECT_GT(w.tensors().size(), 10u) << model;
  }
  auto tiny = TfjsWeights::load(tfjs_manifest_path(face_model_dir(), "tiny_face_detector_model"));
  EXPECT_EQ(tiny.tensors().size(), 19u);
  // conv0/filters: scale 0.00900704, min -1.20694 (faceapi-port.md Appendix A): values lie on that grid.
  for (float v : tiny.get("conv0/filters", {3, 3, 3, 16}).values) EXPECT_GE(v, -1.2070f);
}

}  // namespace
}  // namespace s3e::test
