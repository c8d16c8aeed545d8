// cmd_ingest.cpp — `s3editor ingest`: parses its options and runs pipeline_ingest_run (pipeline/ingest.h).
#include "app/stage.h"
#include "core/command_registry.h"
#include "pipeline/ingest.h"

namespace s3e {
namespace {

int run_ingest(int argc, char** argv) {
  Stage stage("ingest",
              "Face videos and photos into a latent store: decode, detect and track faces, align, smooth and encode "
              "them with a backbone (the built-in landmark backbone or a TorchScript one), over ranks, resumable; a bad "
              "input fails alone (exit code 3, <run-dir>/failed.csv).");
  stage.add_positional("inputs", -1, "videos, photos, folders, list files (.txt/.list, one path per line) or globs");
  stage.add_io("out", "store", Stage::Io::output, "latent store index to write (default <run-dir>/store.h5)");
  stage.add_alias("backbone", "ingest.backbone", "landmark (built in) or a TorchScript backbone folder");
  stage.add_alias("faces", "ingest.faces", "largest | all");
  stage.options().add_options()("retry-failed", "rerun items recorded as failed");
  stage.add_item_run_options();
  pipeline_ingest_add_config(stage.schema());
  if (!stage.parse(argc, argv)) return 0;
  IngestOptions o{stage.run()};
  o.inputs = stage.positional("inputs");
  o.out = stage.io_output("store", "store.h5");
  o.retry_failed = stage.vars().count("retry-failed") > 0;
  return stage.finish(pipeline_ingest_run(stage.comm(), o));
}

CommandRegistration registration("ingest", "face videos and photos into a latent store (landmark or TorchScript backbone)",
                                 run_ingest, pipeline_ingest_add_config);

}  // namespace
}  // namespace s3e
