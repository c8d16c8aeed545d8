// cmd_inspect.cpp — `s3editor inspect`: parses its options and runs pipeline_inspect_run (pipeline/inspect.h).
#include "app/stage.h"
#include "core/command_registry.h"
#include "pipeline/inspect.h"

namespace po = boost::program_options;

namespace s3e {
namespace {

int run_inspect(int argc, char** argv) {
  Stage stage("inspect", "Summarise latent stores: shapes, attributes, label balance, NaN count, size.");
  stage.add_positional("files", -1, "store or truth files (.h5)");
  stage.options().add_options()("json", "print JSON instead of text")("no-scan", "skip the NaN/Inf scan of the latents");
  stage.set_read_only();
  pipeline_inspect_add_config(stage.schema());
  if (!stage.parse(argc, argv)) return 0;
  InspectOptions o{stage.run()};
  o.files = stage.positional("files");
  o.json = stage.vars().count("json") > 0;
  o.no_scan = stage.vars().count("no-scan") > 0;
  return stage.finish(pipeline_inspect_run(stage.comm(), o));
}

CommandRegistration registration("inspect", "summarise latent stores (shapes, labels, NaN count, size)", run_inspect,
                                 pipeline_inspect_add_config);

}  // namespace
}  // namespace s3e

