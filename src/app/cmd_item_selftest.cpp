// cmd_item_selftest.cpp — `s3editor item-selftest`: the item runner's self-test stage (pipeline/item_selftest.h).
#include "app/stage.h"
#include "core/command_registry.h"
#include "pipeline/item_selftest.h"

namespace s3e {
namespace {

int run_item_selftest(int argc, char** argv) {
  Stage stage("item-selftest", "Synthetic item stage for the tests of the work queue, ledger, signals and resume.");
  stage.options().add_options()("retry-failed", "rerun items recorded as failed");
  stage.add_item_run_options();
  pipeline_item_selftest_add_config(stage.schema());
  if (!stage.parse(argc, argv)) return 0;
  ItemSelftestOptions o{stage.run()};
  o.retry_failed = stage.vars().count("retry-failed") > 0;
  return stage.finish(pipeline_item_selftest_run(stage.comm(), o));
}

CommandRegistration registration("item-selftest", "synthetic item stage for the tests of resume and signals",
                                 run_item_selftest,
                                 pipeline_item_selftest_add_config);

}  // namespace
}  // namespace s3e
