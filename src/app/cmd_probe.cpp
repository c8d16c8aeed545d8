// cmd_probe.cpp — `s3editor probe`: parses its options and runs pipeline_probe_run (pipeline/probe.h).
#include "app/stage.h"
#include "core/command_registry.h"
#include "pipeline/probe.h"

namespace po = boost::program_options;

namespace s3e {
namespace {

int probe_main(int argc, char** argv) {
  Stage stage("probe", "Print what the video reader sees in a video, image or image sequence (frame_%05d.png) "
                       "as JSON: streams, size, rotation, frame rate, exact frame count, duration, audio.");
  stage.add_positional("file", 1, "video, image or image-sequence pattern to inspect");
  stage.options().add_options()("decode", "also decode every frame and report how many came out")(
      "out", boost::program_options::value<std::string>()->default_value(""), "also write the JSON to this file");
  pipeline_probe_add_config(stage.schema());
  if (!stage.parse(argc, argv)) return 0;
  ProbeOptions o{stage.run()};
  o.files = stage.positional("file");
  o.decode = stage.vars().count("decode") > 0;
  o.out = stage.vars()["out"].as<std::string>();
  return stage.finish(pipeline_probe_run(stage.comm(), o));
}

CommandRegistration probe_registration("probe", "print a video's streams, size, rotation, fps, frames as JSON",
                                       probe_main,
                                 pipeline_probe_add_config);

}  // namespace

}  // namespace s3e

