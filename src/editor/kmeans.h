// kmeans.h — spherical K-means on attribute embeddings (cosine distance), k-means++ seeding, several restarts,
// deterministic for a seed (s3e::Rng). Used to group attributes into K clusters, one expert each.
#pragma once
#include <cstdint>
#include <vector>

namespace s3e {

struct KMeansResult {
  int k = 0, dim = 0;
  std::vector<float> centroids;   // [k, dim], unit norm
  std::vector<int> assignment;    // cluster of each point
  double inertia = 0;             // sum of cosine distances (1 - cos) to the assigned centroid
};

// `points` is [n, dim] (need not be normalised; cosine distance is used). k is clamped to n.
KMeansResult kmeans_cosine(const std::vector<float>& points, int n, int dim, int k, uint64_t seed, int restarts = 10,
                           int max_iterations = 100);

// Index of the centroid nearest (largest cosine) to `point`.
int kmeans_nearest(const KMeansResult& km, const float* point);

}  // namespace s3e
