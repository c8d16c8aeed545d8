// media_limits.h — upper bounds on what a media file may declare, checked from its headers before anything is
// decoded, so that an absurd or hostile file (a 100000x100000 header, a 1000-hour stream) is rejected with a
// DataError instead of exhausting memory. Subcommands expose them as config keys media.max_*.
#pragma once
#include <cstdint>

namespace s3e {

class Config;
class ConfigSchema;

struct MediaLimits {
  int max_width = 8192;             // coded width, pixels
  int max_height = 8192;            // coded height, pixels
  double max_duration_s = 4 * 3600;  // declared duration
  int64_t max_frames = 2000000;     // declared (or duration x rate estimated) frame count
};

// Adds media.max_width, media.max_height, media.max_duration_s, media.max_frames to a stage's schema.
void media_limits_add_keys(ConfigSchema& schema);
// Reads them back from a resolved config.
MediaLimits media_limits_from_config(const Config& config);

}  // namespace s3e
