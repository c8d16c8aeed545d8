// region_map.h — which latent dim (of the editable part) belongs to which region, and therefore which block of
// an expert's neurons may write it, and which regions each attribute and each expert target (the sparsifier's
// over-editing score measures what a neuron writes outside them). Regions are not the clusters: R (the number of
// regions) is whatever the map has, independent of K. Two sources:
//   backbone  stores whose backbone has a region map (the landmark backbone: jaw, brows, nose, eyes, mouth; a
//             TorchScript backbone may declare one): the facial regions themselves (+ "other" for dims in none).
//   data      latent-only stores: regions are groups of training attributes by their embedding energy profile
//             (the routing clusters by default, `editor.regions` = R > 0 for a K-means of its own), plus a
//             "shared" region; a dim goes to the group whose attribute embeddings hold the dominant share of its
//             energy, or to the shared region when none dominates. It never reads any ground truth (the synthetic
//             world's true regions exist only for the metrics).
// Target regions (both sources, measured, never declared): the target regions of an attribute are the fewest
// regions, taken by decreasing energy of its embedding e_a, whose energy reaches `target_energy` (0.8) of |e_a|^2;
// an expert's are the union of its training attributes'. A backbone's declared attribute regions are recorded
// (declared_targets) for comparison only.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace s3e {

struct RegionMap {
  int num_regions = 1;                 // the map's regions (data: groups + 1 shared; backbone: its regions (+ other))
  std::vector<int32_t> region_of_dim;  // [De]
  std::string source;                  // how it was made ("backbone region map (...)" or "classifier-gradient ...")
  std::vector<int32_t> expert_targets; // [K * num_regions], 1 = target; empty: expert k targets k and the shared one
  std::vector<int32_t> attribute_targets;  // [A * num_regions] measured target regions of every attribute (or empty)
  std::vector<int32_t> declared_targets;   // [A * num_regions] the backbone's own attribute regions (or empty)
  double target_energy = 0.8;          // the energy share that defines target regions
  int shared_region() const { return num_regions - 1; }
  // Whether region `block` is one of expert `expert`'s targets.
  bool is_target(int expert, int block) const;
};

// embeddings [num_attributes, dim] (rows need not be normalised), group of each attribute in 0..k-1: k groups + 1
// shared region.
RegionMap region_map_from_embeddings(const std::vector<float>& embeddings, int num_attributes, int dim,
                                     const std::vector<int>& cluster_of_attribute, int k, double dominance);

// From a backbone's map: `region_of_dim` over the editable dims (-1 = in no region: those dims form one extra
// region "other"), the backbone's declared attribute regions [A][R] (kept as declared_targets; may be all zero).
// Targets are set afterwards by region_map_set_targets.
RegionMap region_map_from_backbone(const std::vector<int32_t>& region_of_dim, const std::vector<std::string>& names,
                                   const std::vector<int32_t>& attribute_regions, int num_attributes);

// Target regions [n * num_regions] (1 = target) of n vectors [n, dim] over the map's dims: per row, the fewest
// regions, by decreasing energy (ties: lower region first), whose energy reaches `share` of the row's energy. A row
// with no energy targets every region (nothing to measure against).
std::vector<int32_t> region_targets_by_energy(const std::vector<float>& vectors, int n, const RegionMap& map,
                                              double share);

// Sets map.attribute_targets from the embeddings [A, dim] and map.expert_targets [k, R] as the union of the targets
// of the training attributes routed to each expert (expert_of_attribute: -1 for attributes that do not train).
void region_map_set_targets(RegionMap& map, const std::vector<float>& embeddings, int num_attributes,
                            const std::vector<int>& expert_of_attribute, int k, double share);

}  // namespace s3e
