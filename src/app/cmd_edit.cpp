// cmd_edit.cpp — `s3editor edit`: parses its options and runs pipeline_edit_store_run (pipeline/edit_store.h) or,
// with --videos, pipeline_edit_videos_run (pipeline/edit_videos.h).
#include "app/stage.h"
#include "core/command_registry.h"
#include "pipeline/edit_store.h"
#include "pipeline/edit_videos.h"
#include "pipeline/item_run.h"

namespace s3e {
namespace {

void add_edit_config(ConfigSchema& schema) {
  pipeline_edit_store_add_config(schema);
  pipeline_edit_videos_add_config(schema);
  item_run_add_config(schema);
}

int run_edit(int argc, char** argv) {
  Stage stage("edit",
              "Apply a trained editor to the rows of a latent store: a recipe (--edit NAME=STRENGTH, repeated, applied "
              "in order) or an evaluation protocol (--protocol flip-each); writes an edited latent store. With --videos, "
              "edits the videos an ingested store names: edited videos with their audio, plus the edited latents.");
  stage.add_io("store", "store", Stage::Io::input, "latent store (.h5) to edit (with --videos: an ingested store)");
  stage.add_switch("videos", "edit.videos", "edit the videos the store names, not its rows");
  stage.add_io("editor", "editor", Stage::Io::input, "editor folder from train (editor.h5 + editor_weights.pt)");
  stage.add_io("classifier", "classifier", Stage::Io::input,
               "the classifier the editor was trained with: only for editors saved before editor.h5 stored the "
               "latent normalisation (checked against the SHA-256 the editor records)");
  stage.add_io("out", "edited", Stage::Io::output, "edited latent store (default <run-dir>/edited.h5)");
  stage.add_alias("edit", "edit.recipe", "one edit NAME=STRENGTH (repeat for several, applied in order)", true);
  stage.add_alias("protocol", "edit.protocol", "flip-each: every row once per attribute, flipping its label");
  stage.add_alias("strength", "edit.strength", "|g| of the protocol's edits");
  stage.add_alias("strengths", "edit.strengths", "comma-separated |g| list for curves");
  stage.add_alias("rows", "edit.rows", "all | heldout | train");
  stage.options().add_options()("retry-failed", "rerun items recorded as failed");
  stage.add_item_run_options();
  add_edit_config(stage.schema());
  if (!stage.parse(argc, argv)) return 0;
  EditStoreOptions o{stage.run()};
  o.store = stage.io_required("store");
  o.editor = stage.io_required("editor");
  o.classifier = stage.io("classifier");
  o.out = stage.io_output("edited", "edited.h5");
  o.retry_failed = stage.vars().count("retry-failed") > 0;
  const bool videos = stage.run().config.get_bool("edit.videos");
  return stage.finish(videos ? pipeline_edit_videos_run(stage.comm(), o) : pipeline_edit_store_run(stage.comm(), o));
}

CommandRegistration registration("edit", "apply an editor to a latent store (recipe or flip-each protocol) or to the "
                                 "videos of an ingested store (--videos)", run_edit, add_edit_config);

}  // namespace
}  // namespace s3e
