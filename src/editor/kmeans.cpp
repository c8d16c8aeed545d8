#include "editor/kmeans.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/rng.h"

namespace s3e {

namespace {
std::vector<float> normalised_rows(const std::vector<float>& p, int n, int dim) {
  std::vector<float> out(p);
  for (int i = 0; i < n; ++i) {
    double s = 0;
    for (int d = 0; d < dim; ++d) s += double(out[i * dim + d]) * out[i * dim + d];
    float inv = s > 0 ? float(1.0 / std::sqrt(s)) : 0.f;
    for (int d = 0; d < dim; ++d) out[i * dim + d] *= inv;
  }
  return out;
}
double cosine(const float* a, const float* b, int dim) {
  double s = 0;
  for (int d = 0; d < dim; ++d) s += double(a[d]) * b[d];
  return s;
}

KMeansResult kmeans_once(const std::vector<float>& x, int n, int dim, int k, Rng& rng, int max_iterations) {
  KMeansResult r;
  r.k = k;
  r.dim = dim;
  r.centroids.assign(size_t(k) * dim, 0.f);
  // k-means++: first centre uniform, then proportional to squared distance to the nearest chosen centre.
  int first = static_cast<int>(rng.below(n));
  std::copy(&x[size_t(first) * dim], &x[size_t(first) * dim] + dim, r.centroids.begin());
  std::vector<double> nearest(n, std::numeric_limits<double>::max());
  for (int c = 1; c < k; ++c) {
    double total = 0;
    for (int i = 0; i < n; ++i) {
      double dist = 1.0 - cosine(&x[size_t(i) * dim], &r.centroids[size_t(c - 1) * dim], dim);
      nearest[i] = std::min(nearest[i], std::max(0.0, dist));
      total += nearest[i] * nearest[i];
    }
    int pick = n - 1;
    if (total > 0) {
      double u = rng.uniform() * total, acc = 0;
      for (int i = 0; i < n; ++i)
        if ((acc += nearest[i] * nearest[i]) >= u) {
          pick = i;
          break;
        }
    } else {
      pick = static_cast<int>(rng.below(n));
    }
    std::copy(&x[size_t(pick) * dim], &x[size_t(pick) * dim] + dim, r.centroids.begin() + size_t(c) * dim);
  }
  r.assignment.assign(n, -1);
  for (int it = 0; it < max_iterations; ++it) {
    bool changed = false;
    r.inertia = 0;
    for (int i = 0; i < n; ++i) {
      int best = kmeans_nearest(r, &x[size_t(i) * dim]);
      r.inertia += 1.0 - cosine(&x[size_t(i) * dim], &r.centroids[size_t(best) * dim], dim);
      if (best != r.assignment[i]) changed = true, r.assignment[i] = best;
    }
    if (!changed && it > 0) break;
    // Update: mean direction of the members, renormalised; an empty cluster takes the worst-served point.
    std::vector<double> sum(size_t(k) * dim, 0.0);
    std::vector<int> count(k, 0);
    for (int i = 0; i < n; ++i) {
      ++count[r.assignment[i]];
      for (int d = 0; d < dim; ++d) sum[size_t(r.assignment[i]) * dim + d] += x[size_t(i) * dim + d];
    }
    for (int c = 0; c < k; ++c) {
      if (count[c] == 0) {
        int worst = 0;
        double worst_cos = 2;
        for (int i = 0; i < n; ++i) {
          double cs = cosine(&x[size_t(i) * dim], &r.centroids[size_t(r.assignment[i]) * dim], dim);
          if (cs < worst_cos) worst_cos = cs, worst = i;
        }
        for (int d = 0; d < dim; ++d) sum[size_t(c) * dim + d] = x[size_t(worst) * dim + d];
      }
      double norm = 0;
      for (int d = 0; d < dim; ++d) norm += sum[size_t(c) * dim + d] * sum[size_t(c) * dim + d];
      norm = norm > 0 ? std::sqrt(norm) : 1.0;
      for (int d = 0; d < dim; ++d) r.centroids[size_t(c) * dim + d] = float(sum[size_t(c) * dim + d] / norm);
    }
  }
  return r;
}
}  // namespace

int kmeans_nearest(const KMeansResult& km, const float* point) {
  int best = 0;
  double best_cos = -std::numeric_limits<double>::max();
  for (int c = 0; c < km.k; ++c) {
    double cs = cosine(point, &km.centroids[size_t(c) * km.dim], km.dim);
    if (cs > best_cos) best_cos = cs, best = c;
  }
  return best;
}

KMeansResult kmeans_cosine(const std::vector<float>& points, int n, int dim, int k, uint64_t seed, int restarts,
                           int max_iterations) {
  k = std::max(1, std::min(k, n));
  auto x = normalised_rows(points, n, dim);
  Rng rng(seed, rng_stream_tag("kmeans"), 0);
  KMeansResult best;
  best.inertia = std::numeric_limits<double>::max();
  for (int r = 0; r < std::max(1, restarts); ++r) {
    KMeansResult candidate = kmeans_once(x, n, dim, k, rng, max_iterations);
    if (candidate.inertia < best.inertia - 1e-12) best = std::move(candidate);
  }
  return best;
}

}  // namespace s3e
