// cmd_contact_sheet.cpp — `s3editor contact-sheet <video> --out sheet.png`: a grid of frames sampled evenly
// through a video, written as PNG (or JPEG for .jpg/.jpeg), for previews and the demo job's run folder.
#include <spdlog/spdlog.h>

#include <filesystem>

#include "app/stage.h"
#include "core/command_registry.h"
#include "core/errors.h"
#include "media/contact_sheet.h"
#include "media/image_io.h"

namespace po = boost::program_options;

namespace s3e {

namespace {

int contact_sheet_main(int argc, char** argv) {
  ContactSheetOptions defaults;
  Stage stage("contact-sheet", "Write a grid of frames sampled evenly through a video (first to last) as an image.");
  stage.add_positional("video", 1, "video (or image sequence pattern) to sample");
  stage.options().add_options()
      ("out", po::value<std::string>()->default_value(""), "image to write (.png or .jpg); default "
                                                           "<run-dir>/contact_sheet.png")
      ("frames", po::value<int>()->default_value(defaults.frames), "number of tiles")
      ("columns", po::value<int>()->default_value(defaults.columns), "tiles per row")
      ("tile-width", po::value<int>()->default_value(defaults.tile_width), "width of each tile in pixels");
  media_limits_add_keys(stage.schema());
  if (!stage.parse(argc, argv)) return 0;
  auto videos = stage.positional("video");
  if (videos.empty()) throw UsageError("s3editor contact-sheet: give the video to sample (see --help)");
  ContactSheetOptions options;
  options.frames = stage.vars()["frames"].as<int>();
  options.columns = stage.vars()["columns"].as<int>();
  options.tile_width = stage.vars()["tile-width"].as<int>();
  std::filesystem::path out = stage.output_path("out", "contact_sheet.png");
  ContactSheet sheet = contact_sheet_make(videos[0], options, media_limits_from_config(stage.config()));
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

CommandRegistration contact_sheet_registration("contact-sheet", "write a grid of frames sampled through a video",
                                               contact_sheet_main);

}  // namespace

}  // namespace s3e
