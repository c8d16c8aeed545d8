// cmd_import_npy.cpp — `s3editor import-npy`: parses its options and runs pipeline_import_npy_run (pipeline/import_npy.h).
#include "app/stage.h"
#include "core/command_registry.h"
#include "pipeline/import_npy.h"

namespace po = boost::program_options;

namespace s3e {
namespace {

int run_import_npy(int argc, char** argv) {
  Stage stage("import-npy", "Import Latent Transformer .npy latents [N,...] and labels [N,A] into a latent store.");
  stage.options().add_options()
      ("latents", po::value<std::string>()->required(), "latents .npy (f4/f8, C order), e.g. [N,18,512]")
      ("labels", po::value<std::string>()->default_value(""), "labels .npy [N,A] (0/1); omit for unlabelled data")
      ("attributes", po::value<std::string>()->default_value(""),
       "text file with one attribute name per label column (default: the 40 CelebA names when A=40)")
      ("out", po::value<std::string>()->default_value(""), "output store (default <run-dir>/store/imported.h5)");
  pipeline_import_npy_add_config(stage.schema());
  if (!stage.parse(argc, argv)) return 0;
  ImportNpyOptions o{stage.run()};
  o.latents = stage.vars()["latents"].as<std::string>();
  o.labels = stage.vars()["labels"].as<std::string>();
  o.attributes = stage.vars()["attributes"].as<std::string>();
  o.out = stage.output_path("out", "store/imported.h5");
  return stage.finish(pipeline_import_npy_run(stage.comm(), o));
}

CommandRegistration registration("import-npy", "import Latent Transformer .npy latents and labels into a store",
                                 run_import_npy,
                                 pipeline_import_npy_add_config);

}  // namespace
}  // namespace s3e

