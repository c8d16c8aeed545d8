// face_models.h — the face-api nets in LibTorch behind a torch-free interface: TinyFaceDetector, FaceLandmark68Net,
// FaceRecognitionNet (128-D descriptor), AgeGenderNet and FaceExpressionNet, with face-api's exact preprocessing
// (zero padding to a square, TF legacy bilinear resize, per-net normalisation) and decoding. The per-net calls take
// many crops of one image and run them as one batch; analyze() is face-api's whole cascade
// (detectAllFaces().withFaceLandmarks().withFaceExpressions().withFaceDescriptors().withAgeAndGender()).
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "face/face_types.h"

namespace s3e {

struct FaceModelsOptions {
  std::filesystem::path model_dir;     // empty: face_model_dir() (the face-api package in the asset cache)
  int detector_input_size = 512;       // TinyFaceDetector input side (multiple of 32)
  double detector_score = 0.5;         // TinyFaceDetector score threshold (strict >)
  bool load_descriptor = true;         // FaceRecognitionNet
  bool load_attributes = true;         // AgeGenderNet + FaceExpressionNet
  std::string device = "cpu";          // any torch device string ("cuda:0")
  int max_batch = 32;                  // crops per forward pass
};

class FaceModels {
 public:
  explicit FaceModels(const FaceModelsOptions& options = {});
  ~FaceModels();
  FaceModels(const FaceModels&) = delete;
  FaceModels& operator=(const FaceModels&) = delete;

  const FaceModelsOptions& options() const;

  // TinyFaceDetector on the whole image: boxes in image pixels, descending score.
  std::vector<FaceDetection> detect(ImageView image) const;
  // Landmarks of each crop, RELATIVE to the crop (0..1), exactly as FaceLandmark68Net decodes them.
  std::vector<FaceLandmarks> landmarks(ImageView image, const std::vector<FaceRect>& crops) const;
  std::vector<FaceDescriptor> descriptors(ImageView image, const std::vector<FaceRect>& crops) const;
  std::vector<FaceAttributes> attributes(ImageView image, const std::vector<FaceRect>& crops) const;

  // The face-api cascade on one image (detector order).
  std::vector<FaceRecord> analyze(ImageView image) const;
  // Landmarks in image pixels for faces whose crops are known (tracking: crop placed from the previous frame).
  std::vector<FaceLandmarks> landmarks_in_image(ImageView image, const std::vector<FaceRect>& crops) const;

  // How many times detect() ran (tests check that tracking detects only every N frames).
  long detector_runs() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Intra-op threads of the face nets (torch); the stages call it with --threads.
void face_set_threads(int threads);

// The asset cache: $S3E_CACHE_DIR, else <source dir>/.cache.
std::filesystem::path face_cache_dir();
// The face-api model folder inside the cache.
std::filesystem::path face_model_dir();

}  // namespace s3e
