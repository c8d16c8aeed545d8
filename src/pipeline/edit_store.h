// pipeline/edit_store.h — `s3editor edit --store`: applies a trained editor (editor/editor_runtime.h) to the rows
// of a latent store and writes the edited latents as a latent store of the same schema (docs/formats.md, "Edited
// store"), for eval-latent to judge or for users to decode with their own generator (export-npy).
//
// Two modes (exactly one):
//   recipe    edit.recipe = "smile=1.5, age=-0.5" (or --edit repeated): every selected row through the steps in
//             order, as Latent Transformer chains its transforms; one output row per source row.
//   protocol  edit.protocol = flip-each: every selected row edited once per attribute and strength, in the
//             direction that flips its label (g = -s with the attribute, +s without; rows with an unknown label are
//             skipped for that attribute), as eval-latent did in-process before; edit.strengths gives curves.
// Rows: edit.rows = all | heldout | train, the split of store/row_split.h with train.validation_share.
//
// Each output row is tagged with its source row (edit/source_row), attribute (edit/attribute, -1 for a recipe of
// several steps) and signed strength (edit/strength); the index's root holds the recipe or protocol, the editor's
// routing [A, K] (edit/routing), its sparse masks [K, H] (edit/sparse_masks, for editors with neuron groups) and
// the provenance eval-latent reads (source store, editor, classifier and its SHA-256, seen/unseen attributes).
//
// Runs as an item stage (pipeline/item_run.h): blocks of edit.rows_per_item source rows are items, handed out over
// the ranks, committed through the ledger into <run>/edited_rows/, then rank 0 writes the index at `out`. The
// result does not depend on the rank count (items are edited in fixed batches); a killed or signalled run resumes.
#pragma once
#include <filesystem>
#include <string>

#include "core/config.h"
#include "dist/communicator.h"
#include "pipeline/stage_run.h"

namespace s3e {

struct EditStoreOptions {
  StageRun run;
  std::string store;            // source latent store
  std::string editor;           // editor folder
  std::string classifier;       // only for editors that predate stored normalisation ("" otherwise)
  std::filesystem::path out;    // the edited store (index file)
  bool retry_failed = false;
};

void pipeline_edit_store_add_config(ConfigSchema& schema);
int pipeline_edit_store_run(Communicator& comm, const EditStoreOptions& options);

}  // namespace s3e
