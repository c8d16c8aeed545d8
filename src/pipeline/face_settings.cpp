#include "pipeline/face_settings.h"

#include <fmt/format.h>

#include <cstdlib>

#include "core/errors.h"
#include "face/face_detector_size.h"

namespace s3e {

int face_settings_detector_input_size(const Config& cfg) {
  const std::string& text = cfg.get_text("faces.detector_input_size");
  if (text == "auto") return 0;
  char* end = nullptr;
  long size = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end || size < 128 || size > k_face_detector_max || size % 32)
    throw UsageError(fmt::format("faces.detector_input_size = '{}' ({}): expected auto or a multiple of 32 from 128 to {}",
                                 text, cfg.source_of("faces.detector_input_size"), k_face_detector_max));
  return static_cast<int>(size);
}

void face_settings_add_config(ConfigSchema& schema) {
  schema
      .add_text("faces.detector_input_size", "auto",
                "TinyFaceDetector input side: a multiple of 32 (128..3072), or auto: chosen from the frame size so "
                "that faces of faces.detector_min_face pixels are found (512..2304)")
      .add_real("faces.detector_min_face", 40, "auto detector input size: smallest face height to find, frame pixels",
                8, 4096)
      .add_real("faces.detector_score", 0.5, "TinyFaceDetector score threshold", 0.01, 0.99)
      .add_bool("faces.descriptors", true, "compute 128-D descriptors")
      .add_bool("faces.attributes", true, "compute age, gender and expressions")
      .add_text("faces.device", "cpu", "torch device of the face nets (cpu, cuda:0)")
      .add_int("faces.detect_every", 5, "video: run the detector every N frames (landmarks track in between)", 1, 1000)
      .add_real("faces.identity_distance", 0.5, "video: descriptor distance under which a detection is a known track",
                0.05, 2.0)
      .add_real("faces.cut_threshold", 0.15, "video: shot cut when grey thumbnails differ by more (0..1)", 0.01, 1.0)
      .add_real("faces.sigma_landmarks", 1.5, "video: temporal Gaussian sigma of landmarks, frames (0: off)", 0, 100)
      .add_real("faces.sigma_quad", 3.0, "video: temporal Gaussian sigma of the crop quads, frames (0: off)", 0, 100);
}

FaceModelsOptions face_models_options(const Config& cfg) {
  FaceModelsOptions mo;
  mo.detector_input_size = face_settings_detector_input_size(cfg);
  mo.detector_min_face = cfg.get_real("faces.detector_min_face");
  mo.detector_score = cfg.get_real("faces.detector_score");
  mo.load_descriptor = cfg.get_bool("faces.descriptors");
  mo.load_attributes = cfg.get_bool("faces.attributes");
  mo.device = cfg.get_text("faces.device");
  return mo;
}

FaceTrackerOptions face_tracker_options(const Config& cfg) {
  FaceTrackerOptions to;
  to.detect_every = static_cast<int>(cfg.get_int("faces.detect_every"));
  to.identity_distance = cfg.get_real("faces.identity_distance");
  to.cut_threshold = cfg.get_real("faces.cut_threshold");
  return to;
}

}  // namespace s3e
