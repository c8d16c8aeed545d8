// cmd_contact_sheet.cpp — `s3editor contact-sheet`: parses its options and runs pipeline_contact_sheet_run (pipeline/contact_sheet.h).
#include "app/stage.h"
#include "core/command_registry.h"
#include "media/contact_sheet.h"
#include "pipeline/contact_sheet.h"

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
  pipeline_contact_sheet_add_config(stage.schema());
  if (!stage.parse(argc, argv)) return 0;
  ContactSheetStageOptions o{stage.run()};
  o.videos = stage.positional("video");
  o.frames = stage.vars()["frames"].as<int>();
  o.columns = stage.vars()["columns"].as<int>();
  o.tile_width = stage.vars()["tile-width"].as<int>();
  o.out = stage.output_path("out", "contact_sheet.png");
  return stage.finish(pipeline_contact_sheet_run(stage.comm(), o));
}

CommandRegistration contact_sheet_registration("contact-sheet", "write a grid of frames sampled through a video",
                                               contact_sheet_main,
                                 pipeline_contact_sheet_add_config);

}  // namespace

}  // namespace s3e

