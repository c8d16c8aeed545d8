#include "synth/synth_stats.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace s3e {

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

double normal_quantile(double p) {
  if (!(p > 0 && p < 1)) throw std::invalid_argument("normal_quantile: p must be in (0, 1)");
  double lo = -40, hi = 40;
  for (int i = 0; i < 200; ++i) {
    double mid = 0.5 * (lo + hi);
    (normal_cdf(mid) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double bivariate_normal_upper(double h, double k, double rho) {
  // P(X > h, Y > k) = P(X > h) P(Y > k) + (1 / 2pi) int_0^rho exp(-(h^2 - 2rhk + k^2) / (2(1 - r^2))) / sqrt(1 - r^2) dr
  // (Plackett's identity), integrated by composite Gauss-Legendre (5 points on 64 panels).
  static const double x5[5] = {-0.9061798459386640, -0.5384693101056831, 0.0, 0.5384693101056831, 0.9061798459386640};
  static const double w5[5] = {0.2369268850561891, 0.4786286704993665, 0.5688888888888889, 0.4786286704993665,
                               0.2369268850561891};
  const int panels = 64;
  double integral = 0, step = rho / panels;
  for (int p = 0; p < panels; ++p) {
    double centre = (p + 0.5) * step;
    for (int i = 0; i < 5; ++i) {
      double r = centre + 0.5 * step * x5[i];
      double q = 1 - r * r;
      integral += 0.5 * step * w5[i] * std::exp(-(h * h - 2 * r * h * k + k * k) / (2 * q)) / std::sqrt(q);
    }
  }
  return (1 - normal_cdf(h)) * (1 - normal_cdf(k)) + integral / (2 * M_PI);
}

double label_phi(double h, double k, double rho) {
  double p1 = 1 - normal_cdf(h), p2 = 1 - normal_cdf(k);
  return (bivariate_normal_upper(h, k, rho) - p1 * p2) / std::sqrt(p1 * (1 - p1) * p2 * (1 - p2));
}

double tetrachoric_rho(double h, double k, double phi) {
  double lo = -0.995, hi = 0.995;  // label_phi increases with rho
  if (phi <= label_phi(h, k, lo)) return lo;
  if (phi >= label_phi(h, k, hi)) return hi;
  for (int i = 0; i < 60; ++i) {
    double mid = 0.5 * (lo + hi);
    (label_phi(h, k, mid) < phi ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

void symmetric_eigen(const std::vector<double>& m, int64_t n, std::vector<double>& values, std::vector<double>& vectors) {
  std::vector<double> a(m);
  vectors.assign(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i) vectors[i * n + i] = 1.0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i + 1; j < n; ++j) off += a[i * n + j] * a[i * n + j];
    if (off < 1e-26) break;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        double apq = a[p * n + q];
        if (std::fabs(apq) < 1e-300) continue;
        double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t k = 0; k < n; ++k) {  // columns p, q
          double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (int64_t k = 0; k < n; ++k) {  // rows p, q
          double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (int64_t k = 0; k < n; ++k) {
          double vkp = vectors[k * n + p], vkq = vectors[k * n + q];
          vectors[k * n + p] = c * vkp - s * vkq;
          vectors[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  values.resize(n);
  for (int64_t i = 0; i < n; ++i) values[i] = a[i * n + i];
}

namespace {
// V diag(max(values, floor)) V^T.
std::vector<double> clip_eigenvalues(const std::vector<double>& m, int64_t n, double floor) {
  std::vector<double> values, vectors;
  symmetric_eigen(m, n, values, vectors);
  std::vector<double> out(n * n, 0.0);
  for (int64_t k = 0; k < n; ++k) {
    double v = std::max(values[k], floor);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) out[i * n + j] += v * vectors[i * n + k] * vectors[j * n + k];
  }
  return out;
}
}  // namespace

std::vector<double> correlation_complete(const std::vector<double>& target, const std::vector<bool>& fixed, int64_t n,
                                         double min_eigenvalue, int iterations) {
  std::vector<double> y(target), correction(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i) y[i * n + i] = 1.0;
  for (int it = 0; it < iterations; ++it) {
    std::vector<double> r(n * n);
    for (int64_t i = 0; i < n * n; ++i) r[i] = y[i] - correction[i];
    std::vector<double> x = clip_eigenvalues(r, n, 0.0);
    for (int64_t i = 0; i < n * n; ++i) correction[i] = x[i] - r[i];
    y = x;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        if (i == j) y[i * n + j] = 1.0;
        else if (fixed[i * n + j]) y[i * n + j] = target[i * n + j];
  }
  std::vector<double> out = clip_eigenvalues(y, n, min_eigenvalue);
  std::vector<double> scale(n);
  for (int64_t i = 0; i < n; ++i) scale[i] = 1 / std::sqrt(out[i * n + i]);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) out[i * n + j] = i == j ? 1.0 : out[i * n + j] * scale[i] * scale[j];
  // Symmetric to the last bit (the generator's Cholesky checks symmetry).
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) out[j * n + i] = out[i * n + j];
  return out;
}

}  // namespace s3e
