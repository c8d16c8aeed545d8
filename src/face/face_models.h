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
  int detector_input_size = 512;       // TinyFaceDetector input side (multiple of 32); 0: auto, chosen per image
                                       // from its size (face_detector_auto_passes): 512, plus a larger pass when
                                       // 512 cannot find faces of detector_min_face pixels
  double detector_min_face = 40;       // auto: smallest face height (image pixels) to find
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

  // TinyFaceDetector on the whole image: boxes in image pixels, descending score. Each pass decodes exactly as
  // face-api at its input size; with two passes (auto), a detection of the larger pass at the place of one of the
  // 512 pass is dropped (the 512 box is face-api's).
  std::vector<FaceDetection> detect(ImageView image) const;
  // The input sides detect() runs on a width x height image: the option, or auto's choice (512 first).
  std::vector<int> detector_input_sizes(int width, int height) const;
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
  // Seconds spent in each net so far, preprocessing and decoding included (stages report them per phase).
  struct Seconds {
    double detect = 0, landmarks = 0, descriptors = 0, attributes = 0;
    // Parts of `detect`: pad + resize + normalise, the net, box decoding + NMS.
    double detect_preprocess = 0, detect_forward = 0, detect_decode = 0;
  };
  Seconds seconds() const;

  // The activation layout chosen per net and thread count (each measured once per process on its first input, or
  // set by S3E_FACE_LAYOUT=nchw|channels_last), and the allocator setting; one line each.
  std::string layout_report() const;

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
