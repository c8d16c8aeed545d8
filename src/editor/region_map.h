// region_map.h — which latent dim (of the editable part) belongs to which region, and therefore which block of
// an expert's neurons may write it. Regions 0..K-1 are the attribute clusters, region K is "shared".
// For latent-only data the map is derived from data: a dim goes to the cluster whose attribute embeddings hold
// the dominant share of its energy, or to the shared region when no cluster dominates. It never reads any ground
// truth (the synthetic world's true regions exist only for the metrics).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace s3e {

struct RegionMap {
  int num_regions = 1;                 // clusters + 1 shared
  std::vector<int32_t> region_of_dim;  // [De]
  std::string source;                  // how it was made ("classifier-gradient energy, dominance 0.5")
  int shared_region() const { return num_regions - 1; }
};

// embeddings [num_attributes, dim] (rows need not be normalised), cluster of each attribute in 0..k-1.
RegionMap region_map_from_embeddings(const std::vector<float>& embeddings, int num_attributes, int dim,
                                     const std::vector<int>& cluster_of_attribute, int k, double dominance);

}  // namespace s3e
