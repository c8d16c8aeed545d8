// region_map.h — which latent dim (of the editable part) belongs to which region, and therefore which block of
// an expert's neurons may write it, and which regions each expert targets (the sparsifier's over-editing score
// counts what an expert writes outside them). Two sources:
//   data      latent-only stores: regions 0..K-1 are the attribute clusters, region K is "shared"; a dim goes to the
//             cluster whose attribute embeddings hold the dominant share of its energy, or to the shared region when
//             no cluster dominates. Expert k targets region k and the shared region. It never reads any ground truth
//             (the synthetic world's true regions exist only for the metrics).
//   backbone  stores whose backbone has a region map (the landmark backbone: jaw, brows, nose, eyes, mouth): the
//             facial regions themselves; expert k targets the regions of the attributes routed to it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace s3e {

struct RegionMap {
  int num_regions = 1;                 // clusters + 1 shared (data), or the backbone's regions (+1 "other" if needed)
  std::vector<int32_t> region_of_dim;  // [De]
  std::string source;                  // how it was made ("classifier-gradient energy, dominance 0.5")
  std::vector<int32_t> expert_targets; // [K * num_regions], 1 = target; empty: expert k targets k and the shared one
  int shared_region() const { return num_regions - 1; }
  // Whether region `block` is one of expert `expert`'s targets.
  bool is_target(int expert, int block) const;
};

// embeddings [num_attributes, dim] (rows need not be normalised), cluster of each attribute in 0..k-1.
RegionMap region_map_from_embeddings(const std::vector<float>& embeddings, int num_attributes, int dim,
                                     const std::vector<int>& cluster_of_attribute, int k, double dominance);

// From a backbone's map: `region_of_dim` over the editable dims (-1 = in no region: those dims form one extra
// region "other", which no expert targets), the attributes' target regions [A][R] and the expert of each training
// attribute (-1 for attributes that do not train). Expert k targets the union of its attributes' regions.
RegionMap region_map_from_backbone(const std::vector<int32_t>& region_of_dim, const std::vector<std::string>& names,
                                   const std::vector<int32_t>& attribute_regions, int num_attributes,
                                   const std::vector<int>& expert_of_attribute, int k);

}  // namespace s3e
