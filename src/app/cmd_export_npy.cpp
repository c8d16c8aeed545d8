// cmd_export_npy.cpp — `s3editor export-npy`: parses its options and runs pipeline_export_npy_run (pipeline/export_npy.h).
#include "app/stage.h"
#include "core/command_registry.h"
#include "pipeline/export_npy.h"

namespace po = boost::program_options;

namespace s3e {
namespace {

int run_export_npy(int argc, char** argv) {
  Stage stage("export-npy", "Export a store's latents and labels as .npy files (Latent Transformer format).");
  stage.add_positional("store", 1, "latent store (.h5)");
  stage.options().add_options()
      ("out-dir", po::value<std::string>()->default_value(""), "folder for latents.npy, labels.npy, attributes.txt "
                                                                "(default <run-dir>/npy)");
  pipeline_export_npy_add_config(stage.schema());
  if (!stage.parse(argc, argv)) return 0;
  ExportNpyOptions o{stage.run()};
  o.stores = stage.positional("store");
  o.out_dir = stage.output_path("out-dir", "npy");
  return stage.finish(pipeline_export_npy_run(stage.comm(), o));
}

CommandRegistration registration("export-npy", "export a store as .npy latents/labels (Latent Transformer format)",
                                 run_export_npy,
                                 pipeline_export_npy_add_config);

}  // namespace
}  // namespace s3e

