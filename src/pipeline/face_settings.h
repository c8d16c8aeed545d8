// pipeline/face_settings.h — the `faces.*` config keys every stage that runs the face stack shares (faces, ingest,
// edit on videos, eval on videos): the nets' options and the tracker's, read from one Config so the same INI
// section means the same thing in every stage.
#pragma once
#include "core/config.h"
#include "face/face_models.h"
#include "face/face_tracker.h"

namespace s3e {

void face_settings_add_config(ConfigSchema& schema);
FaceModelsOptions face_models_options(const Config& config);
FaceTrackerOptions face_tracker_options(const Config& config);
// faces.detector_input_size: 0 for auto, else the validated size (UsageError naming the key otherwise).
int face_settings_detector_input_size(const Config& config);

}  // namespace s3e
