// store_schema.h — the latent store's schema (docs/formats.md): schema names and versions, dataset names, and
// the column layout of a store file. Writers build their columns here so that every stage writes the same layout.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "store/row_file_writer.h"

namespace s3e {

inline constexpr const char* k_store_schema = "s3editor.latent_store";
inline constexpr int k_store_schema_version = 1;
inline constexpr const char* k_truth_schema = "s3editor.synth_truth";
inline constexpr int k_truth_schema_version = 1;

// Row datasets of a latent store.
inline constexpr const char* k_col_latents = "latents";          // f32 [N, ...latent_shape]
inline constexpr const char* k_col_labels = "labels";            // f32 [N, A], 0/1 (NaN = unknown)
inline constexpr const char* k_col_video_index = "video_index";  // i64 [N], row of video_names, -1 for stills
inline constexpr const char* k_col_frame_index = "frame_index";  // i64 [N], frame within its video
// Whole datasets.
inline constexpr const char* k_ds_attribute_names = "attribute_names";  // UTF-8 strings [A]
inline constexpr const char* k_ds_video_names = "video_names";          // UTF-8 strings [V]

// Columns of a store with latents of `latent_shape` and `num_attributes` labels, plus optional side columns
// (e.g. {"side/landmarks", {68, 2}}).
std::vector<ColumnSpec> store_columns(const std::vector<int64_t>& latent_shape, int64_t num_attributes,
                                      const std::vector<ColumnSpec>& side_columns = {});

// "18x512"
std::string shape_text(const std::vector<int64_t>& shape);

}  // namespace s3e
