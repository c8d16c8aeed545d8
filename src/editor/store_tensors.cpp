#include "editor/store_tensors.h"

#include "store/latent_store.h"

namespace s3e {

torch::Tensor store_read_tensor(const LatentStore& store, const std::string& column, const std::vector<int64_t>& rows) {
  auto shape = store.column_shape(column);
  int64_t width = 1;
  for (size_t i = 1; i < shape.size(); ++i) width *= shape[i];
  auto t = torch::empty({int64_t(rows.size()), width});
  store.read_rows_f32(column, rows, t.data_ptr<float>());
  return t;
}

std::pair<torch::Tensor, torch::Tensor> store_norm_stats(const LatentStore& store, const std::vector<int64_t>& rows,
                                                         int64_t max_rows) {
  const int64_t n = std::min<int64_t>(int64_t(rows.size()), max_rows);
  auto x = store_read_tensor(store, "latents", std::vector<int64_t>(rows.begin(), rows.begin() + n));
  auto x64 = x.to(torch::kDouble);
  auto mean = x64.mean(0), std = x64.std(0).clamp_min(1e-6);
  return {mean.to(torch::kFloat), std.to(torch::kFloat)};
}

}  // namespace s3e
