#include "editor/region_map.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>

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
  map.source = fmt::format("classifier-gradient energy of {} attribute groups, dominance >= {}", k, dominance);
  return map;
}

bool RegionMap::is_target(int expert, int block) const {
  if (expert_targets.empty()) return block == expert || block == shared_region();
  return expert_targets[size_t(expert) * size_t(num_regions) + size_t(block)] != 0;
}

RegionMap region_map_from_backbone(const std::vector<int32_t>& region_of_dim, const std::vector<std::string>& names,
                                   const std::vector<int32_t>& attribute_regions, int num_attributes) {
  const int R = int(names.size());
  RegionMap map;
  const bool other = std::any_of(region_of_dim.begin(), region_of_dim.end(), [](int32_t r) { return r < 0; });
  map.num_regions = R + (other ? 1 : 0);
  for (int32_t r : region_of_dim) {
    if (r >= R) throw std::invalid_argument(fmt::format("region map: region {} of {} names", r, R));
    map.region_of_dim.push_back(r < 0 ? R : r);
  }
  if (std::any_of(attribute_regions.begin(), attribute_regions.end(), [](int32_t v) { return v != 0; })) {
    map.declared_targets.assign(size_t(num_attributes) * size_t(map.num_regions), 0);
    for (int a = 0; a < num_attributes; ++a)
      for (int r = 0; r < R; ++r)
        map.declared_targets[size_t(a) * size_t(map.num_regions) + size_t(r)] = attribute_regions[size_t(a) * size_t(R) + size_t(r)] != 0;
  }
  std::string list;
  for (auto& n : names) list += (list.empty() ? "" : ", ") + n;
  map.source = fmt::format("backbone region map ({}{})", list, other ? ", other" : "");
  return map;
}

std::vector<int32_t> region_targets_by_energy(const std::vector<float>& v, int n, const RegionMap& map, double share) {
  const int R = map.num_regions;
  const size_t dim = map.region_of_dim.size();
  if (v.size() != size_t(n) * dim) throw std::invalid_argument("region_targets_by_energy: vectors do not match the map");
  std::vector<int32_t> out(size_t(n) * size_t(R), 0);
  std::vector<double> energy(R);
  std::vector<int> order(R);
  for (int i = 0; i < n; ++i) {
    std::fill(energy.begin(), energy.end(), 0.0);
    double total = 0;
    for (size_t d = 0; d < dim; ++d) {
      const double x = double(v[size_t(i) * dim + d]) * v[size_t(i) * dim + d];
      energy[size_t(map.region_of_dim[d])] += x;
      total += x;
    }
    int32_t* row = out.data() + size_t(i) * size_t(R);
    if (total <= 0) {
      std::fill(row, row + R, 1);
      continue;
    }
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return energy[a] > energy[b]; });
    // Take regions until the ones taken hold `share` of the energy (the last one taken crosses the line).
    double taken = 0;
    for (int r : order) {
      if (taken >= share * total) break;
      row[r] = 1;
      taken += energy[size_t(r)];
    }
  }
  return out;
}

void region_map_set_targets(RegionMap& map, const std::vector<float>& embeddings, int num_attributes,
                            const std::vector<int>& expert_of_attribute, int k, double share) {
  const int R = map.num_regions;
  map.target_energy = share;
  map.attribute_targets = region_targets_by_energy(embeddings, num_attributes, map, share);
  map.expert_targets.assign(size_t(k) * size_t(R), 0);
  for (int a = 0; a < num_attributes; ++a) {
    const int e = expert_of_attribute[size_t(a)];
    if (e < 0) continue;
    for (int r = 0; r < R; ++r)
      if (map.attribute_targets[size_t(a) * size_t(R) + size_t(r)]) map.expert_targets[size_t(e) * size_t(R) + size_t(r)] = 1;
  }
}

}  // namespace s3e
