// cmd_status.cpp — `s3editor status RUN_DIR [--json]`: what a run folder holds (pipeline/status.h).
#include <iostream>

#include "app/stage.h"
#include "core/command_registry.h"
#include "core/errors.h"
#include "pipeline/status.h"

namespace s3e {
namespace {

int run_status(int argc, char** argv) {
  Stage stage("status", "What a run folder holds: stages, items done/failed/pending, checkpoints, the lock holder.");
  stage.add_positional("run", 1, "run folder");
  stage.options().add_options()("json", "print JSON instead of text");
  stage.set_read_only();
  if (!stage.parse(argc, argv)) return 0;
  auto runs = stage.positional("run");
  if (runs.size() != 1) throw UsageError("s3editor status: give one run folder (see s3editor status --help)");
  if (stage.comm().rank() != 0) return 0;
  auto status = pipeline_status_read(runs[0]);
  std::cout << (stage.vars().count("json") ? status.dump(2) + "\n" : pipeline_status_text(status)) << std::flush;
  return 0;
}

CommandRegistration registration("status", "what a run folder holds: stages, items, checkpoints, lock", run_status);

}  // namespace
}  // namespace s3e
