// contact_sheet.h — a grid of frames sampled evenly through a video (first to last), for previews, reports and
// the demo job's run folder. Frames are found with exact seeking, so tile k shows frame round(k*(n-1)/(N-1)).
#pragma once
#include <string>
#include <vector>

#include "media/frame.h"
#include "media/media_limits.h"

namespace s3e {

struct ContactSheetOptions {
  int frames = 16;       // tiles (fewer when the video is shorter)
  int columns = 4;
  int tile_width = 320;  // tile height follows the video's aspect ratio
  int gap = 4;           // pixels between and around tiles
};

struct ContactSheet {
  Frame image;
  std::vector<int64_t> frame_indices;  // the frame shown in each tile, row by row
};

ContactSheet contact_sheet_make(const std::string& video, const ContactSheetOptions& options = ContactSheetOptions(),
                                const MediaLimits& limits = MediaLimits());

}  // namespace s3e
