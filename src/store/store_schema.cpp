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

const std::vector<std::string>& celeba_attribute_names() {
  static const std::vector<std::string> names = {
      "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs", "Big_Lips",
      "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby", "Double_Chin",
      "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones", "Male", "Mouth_Slightly_Open",
      "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline",
      "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat",
      "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young"};
  return names;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "x" : "") + std::to_string(shape[i]);
  return s.empty() ? "scalar" : s;
}

}  // namespace s3e
