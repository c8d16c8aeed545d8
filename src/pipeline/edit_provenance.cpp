#include "pipeline/edit_provenance.h"

#include <filesystem>
#include <vector>

namespace fs = std::filesystem;

namespace s3e {

void edit_write_routing(RowFileWriter& w, const EditorRuntime& editor) {
  auto routing = editor.context().routing.to(torch::kFloat).contiguous();
  w.write_array_f32("edit/routing", {routing.size(0), routing.size(1)}, routing.data_ptr<float>());
  auto masks = editor.group_mask();
  if (masks.defined()) {
    masks = masks.to(torch::kFloat).contiguous();
    w.write_array_f32("edit/sparse_masks", {masks.size(0), masks.size(1)}, masks.data_ptr<float>());
  }
}

void edit_write_provenance(RowFileWriter& w, const std::string& source_store, const EditorRuntime& editor,
                           const std::string& classifier) {
  const EditorContext& ectx = editor.context();
  w.set_attr_string("edit_source_store", fs::absolute(source_store).lexically_normal().string());
  w.set_attr_string("edit_editor", fs::absolute(editor.dir()).lexically_normal().string());
  w.set_attr_string("edit_transform", editor.spec().transform);
  w.set_attr_string("edit_classifier", ectx.classifier_path.empty() && !classifier.empty()
                                           ? fs::absolute(classifier).lexically_normal().string()
                                           : ectx.classifier_path);
  w.set_attr_string("edit_classifier_sha256", editor.classifier_sha256());
  w.set_attr_int64s("edit_seen_attributes", std::vector<int64_t>(ectx.train_attributes.begin(), ectx.train_attributes.end()));
  w.set_attr_int64s("edit_unseen_attributes",
                    std::vector<int64_t>(ectx.heldout_attributes.begin(), ectx.heldout_attributes.end()));
  edit_write_routing(w, editor);
}

}  // namespace s3e
