#include "store/store_schema.h"

namespace s3e {

std::vector<ColumnSpec> store_columns(const std::vector<int64_t>& latent_shape, int64_t num_attributes,
                                      const std::vector<ColumnSpec>& side_columns) {
  std::vector<ColumnSpec> columns = {
      {k_col_latents, latent_shape, ColumnType::f32},
      {k_col_labels, {num_attributes}, ColumnType::f32},
      {k_col_video_index, {}, ColumnType::i64},
      {k_col_frame_index, {}, ColumnType::i64},
  };
  columns.insert(columns.end(), side_columns.begin(), side_columns.end());
  return columns;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "x" : "") + std::to_string(shape[i]);
  return s.empty() ? "scalar" : s;
}

}  // namespace s3e
