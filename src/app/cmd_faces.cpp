// cmd_faces.cpp — `s3editor faces`: parses its options and runs pipeline_faces_run (pipeline/faces.h).
#include "app/stage.h"
#include "core/command_registry.h"
#include "pipeline/faces.h"

namespace po = boost::program_options;

namespace s3e {
namespace {

int cmd_faces(int argc, char** argv) {
  Stage stage("faces", "Detect, align, describe and track faces in a photo or video (face-api nets in LibTorch).");
  stage.add_positional("input", 1, "image or video file");
  stage.options().add_options()
      ("json", boost::program_options::value<std::string>(), "output JSON (default <run-dir>/faces.json)")
      ("overlay", boost::program_options::value<std::string>(),
       "overlay image/video (default <run-dir>/faces_overlay.png or .mp4)");
  pipeline_faces_add_config(stage.schema());
  if (!stage.parse(argc, argv)) return 0;
  FacesOptions o{stage.run()};
  o.inputs = stage.positional("input");
  o.json_out = stage.vars().count("json") ? stage.vars()["json"].as<std::string>() : std::string();
  o.overlay_out = stage.vars().count("overlay") ? stage.vars()["overlay"].as<std::string>() : std::string();
  return stage.finish(pipeline_faces_run(stage.comm(), o));
}

const CommandRegistration k_register("faces", "detect, align, describe and track faces in a photo or video", cmd_faces,
                                 pipeline_faces_add_config);

}  // namespace
}  // namespace s3e

