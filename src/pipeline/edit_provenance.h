// pipeline/edit_provenance.h — what every edit output records about the edit that made it (docs/formats.md,
// "Edited store"): the source store, the editor, its transform and classifier, the seen and unseen attributes, the
// routing [A, K] and the sparse masks [K, H]. Written the same way by `edit --store`, `edit --videos` and each of
// the latter's item files, so readers (eval-latent, users with h5py) find them in one place.
#pragma once
#include <string>

#include "editor/editor_runtime.h"
#include "store/row_file_writer.h"

namespace s3e {

// `classifier` is the one the user named (only for editors that predate stored normalisation, "" otherwise).
void edit_write_provenance(RowFileWriter& w, const std::string& source_store, const EditorRuntime& editor,
                           const std::string& classifier);

// The routing and sparse masks alone (item files, whose index holds the rest).
void edit_write_routing(RowFileWriter& w, const EditorRuntime& editor);

}  // namespace s3e
