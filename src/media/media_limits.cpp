#include "media/media_limits.h"

#include "core/config.h"

namespace s3e {

void media_limits_add_keys(ConfigSchema& schema) {
  MediaLimits d;
  schema.add_int("media.max_width", d.max_width, "largest video/image width accepted (pixels)", 1, 1 << 16)
      .add_int("media.max_height", d.max_height, "largest video/image height accepted (pixels)", 1, 1 << 16)
      .add_real("media.max_duration_s", d.max_duration_s, "longest video accepted (seconds)", 0, 1e7)
      .add_int("media.max_frames", d.max_frames, "most frames a video may declare", 1, 1e12);
}

MediaLimits media_limits_from_config(const Config& config) {
  MediaLimits limits;
  limits.max_width = static_cast<int>(config.get_int("media.max_width"));
  limits.max_height = static_cast<int>(config.get_int("media.max_height"));
  limits.max_duration_s = config.get_real("media.max_duration_s");
  limits.max_frames = config.get_int("media.max_frames");
  return limits;
}

}  // namespace s3e
