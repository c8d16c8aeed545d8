// synth_stats.h — the small statistics the honest synthetic world (docs/synth.md, "The honest preset") is built
// from: the standard normal CDF and quantile, the bivariate normal orthant probability, the tetrachoric
// correlation (the correlation of two Gaussians whose thresholded 0/1 labels have a given prevalence pair and phi
// coefficient), and the completion of a partly specified correlation matrix into a positive definite one.
// Plain double arithmetic, no randomness: the same inputs give the same numbers on every machine and rank.
#pragma once
#include <cstdint>
#include <vector>

namespace s3e {

double normal_cdf(double x);
// x with normal_cdf(x) = p, for p in (0, 1).
double normal_quantile(double p);
// P(X > h, Y > k) for standard normals X, Y of correlation rho.
double bivariate_normal_upper(double h, double k, double rho);
// The phi coefficient of the labels [X > h], [Y > k] when corr(X, Y) = rho.
double label_phi(double h, double k, double rho);
// rho such that label_phi(h, k, rho) = phi (clamped to what the prevalences allow: |rho| <= 0.995).
double tetrachoric_rho(double h, double k, double phi);

// A x A correlation matrix from the entries in `target` where `fixed` is true (the diagonal is 1; the others are
// free): alternating projections (Higham 2002, with Dykstra's correction) between the positive semidefinite cone
// and {unit diagonal, fixed entries}, then eigenvalues clipped at `min_eigenvalue` and the diagonal rescaled to 1,
// so the result is positive definite. Free entries take the values the fixed ones imply (e.g. two attributes
// both strongly anti-correlated with a third come out positively correlated).
std::vector<double> correlation_complete(const std::vector<double>& target, const std::vector<bool>& fixed, int64_t n,
                                         double min_eigenvalue = 0.02, int iterations = 400);

// Eigen-decomposition of a symmetric n x n matrix (cyclic Jacobi): values [n], vectors [n, n] (column j = vector j).
void symmetric_eigen(const std::vector<double>& m, int64_t n, std::vector<double>& values, std::vector<double>& vectors);

}  // namespace s3e
