#include "editor/region_map.h"

#include <fmt/format.h>

namespace s3e {

RegionMap region_map_from_embeddings(const std::vector<float>& e, int num_attributes, int dim,
                                     const std::vector<int>& cluster, int k, double dominance) {
  // Normalise each attribute's energy to sum 1 so that no attribute outweighs the others by its gradient scale.
  std::vector<double> energy(size_t(k) * dim, 0.0);
  for (int a = 0; a < num_attributes; ++a) {
    double total = 0;
    for (int d = 0; d < dim; ++d) total += double(e[size_t(a) * dim + d]) * e[size_t(a) * dim + d];
    if (total <= 0) continue;
    for (int d = 0; d < dim; ++d)
      energy[size_t(cluster[a]) * dim + d] += double(e[size_t(a) * dim + d]) * e[size_t(a) * dim + d] / total;
  }
  RegionMap map;
  map.num_regions = k + 1;
  map.region_of_dim.assign(dim, k);
  for (int d = 0; d < dim; ++d) {
    double sum = 0, best = -1;
    int best_c = k;
    for (int c = 0; c < k; ++c) {
      double v = energy[size_t(c) * dim + d];
      sum += v;
      if (v > best) best = v, best_c = c;
    }
    if (sum > 0 && best / sum >= dominance) map.region_of_dim[d] = best_c;
  }
  map.source = fmt::format("classifier-gradient energy per cluster, dominance >= {}", dominance);
  return map;
}

}  // namespace s3e
