#include "editor/region_map.h"

#include <fmt/format.h>

#include <algorithm>

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

bool RegionMap::is_target(int expert, int block) const {
  if (expert_targets.empty()) return block == expert || block == shared_region();
  return expert_targets[size_t(expert) * size_t(num_regions) + size_t(block)] != 0;
}

RegionMap region_map_from_backbone(const std::vector<int32_t>& region_of_dim, const std::vector<std::string>& names,
                                   const std::vector<int32_t>& attribute_regions, int num_attributes,
                                   const std::vector<int>& expert_of_attribute, int k) {
  const int R = int(names.size());
  RegionMap map;
  const bool other = std::any_of(region_of_dim.begin(), region_of_dim.end(), [](int32_t r) { return r < 0; });
  map.num_regions = R + (other ? 1 : 0);
  for (int32_t r : region_of_dim) map.region_of_dim.push_back(r < 0 ? R : r);
  map.expert_targets.assign(size_t(k) * size_t(map.num_regions), 0);
  for (int a = 0; a < num_attributes; ++a) {
    const int e = expert_of_attribute[size_t(a)];
    if (e < 0) continue;
    for (int r = 0; r < R; ++r)
      if (attribute_regions[size_t(a) * size_t(R) + size_t(r)]) map.expert_targets[size_t(e) * size_t(map.num_regions) + size_t(r)] = 1;
  }
  std::string list;
  for (auto& n : names) list += (list.empty() ? "" : ", ") + n;
  map.source = fmt::format("backbone region map ({}{})", list, other ? ", other" : "");
  return map;
}

}  // namespace s3e
