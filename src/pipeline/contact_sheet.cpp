// cmd_contact_sheet.cpp — `s3editor contact-sheet <video> --out sheet.png`: a grid of frames sampled evenly
// through a video, written as PNG (or JPEG for .jpg/.jpeg), for previews and the demo job's run folder.
#include "pipeline/contact_sheet.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "core/errors.h"
#include "media/contact_sheet.h"
#include "media/image_io.h"


namespace s3e {

void pipeline_contact_sheet_add_config(ConfigSchema& schema) {
  media_limits_add_keys(schema);
}

int pipeline_contact_sheet_run(Communicator& comm, const ContactSheetStageOptions& options) {
  const StageRun& stage = options.run;
  auto videos = options.videos;
  if (videos.empty()) throw UsageError("s3editor contact-sheet: give the video to sample (see --help)");
  ContactSheetOptions sheet_options;
  sheet_options.frames = options.frames;
  sheet_options.columns = options.columns;
  sheet_options.tile_width = options.tile_width;
  std::filesystem::path out = options.out;
  ContactSheet sheet = contact_sheet_make(videos[0], sheet_options, media_limits_from_config(stage.config));
  std::string ext = out.extension().string();
  if (ext == ".jpg" || ext == ".jpeg")
    image_write_jpeg(out.string(), sheet.image);
  else if (ext == ".png")
    image_write_png(out.string(), sheet.image);
  else
    throw UsageError(fmt::format("{}: contact sheets are written as .png or .jpg", out.string()));
  spdlog::info("contact sheet of {} ({} frames, {}x{}) written to {}", videos[0], sheet.frame_indices.size(),
               sheet.image.width, sheet.image.height, out.string());
  return 0;
}

}  // namespace s3e
