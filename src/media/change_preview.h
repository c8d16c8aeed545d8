// change_preview.h — the side-by-side preview of an edit: source | edited | change heat map, one frame wide, so a
// reviewer sees what moved. The heat map shows max over channels of |edited - source|, black (no change) through
// red and yellow to white (a change of `full_scale` levels or more); unchanged pixels are exactly black.
#pragma once
#include "media/frame.h"

namespace s3e {

struct ChangePreviewOptions {
  int max_width = 1920;   // the three panels are scaled down together to fit (never up)
  int full_scale = 48;    // change (0..255 levels) shown as white
};

// Both frames must have the same size (std::invalid_argument otherwise). pts and index are the edited frame's.
Frame change_preview(const Frame& source, const Frame& edited, const ChangePreviewOptions& options = {});

// The heat map of one frame pair alone (same size as the inputs).
Frame change_heat_map(const Frame& source, const Frame& edited, int full_scale);

}  // namespace s3e
