#include "metrics/latent_metrics.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace s3e {

namespace {
// Share of each row's energy [B, D] inside mask [B, D]; a null edit (no energy) has share 0.
torch::Tensor energy_share(const torch::Tensor& energy, const torch::Tensor& mask) {
  auto total = energy.sum(1);
  auto inside = (energy * mask).sum(1);
  return torch::where(total > 0, inside / total.clamp_min(std::numeric_limits<float>::min()), torch::zeros_like(total));
}
}  // namespace

torch::Tensor truth_strength_delta(const SynthTruth& truth, const torch::Tensor& dx) {
  return torch::mm(dx.to(torch::kFloat), truth.coefficients.t()) / truth.attribute_scale;
}

torch::Tensor truth_identity(const SynthTruth& truth, const torch::Tensor& x) {
  if (truth.honest()) return torch::mm(synth_truth_identity_coords(truth, x), truth.identity_basis);
  auto c = x.to(torch::kFloat) - truth.mean;
  return c - torch::mm(torch::mm(c, truth.coefficients.t()), truth.directions);
}

torch::Tensor latent_drift(const torch::Tensor& x, const torch::Tensor& x_edit) {
  return (x_edit - x).norm(2, 1) / x.norm(2, 1).clamp_min(1e-12);
}

namespace {
// The honest preset: strengths evaluated on both latents, energies in the region and identity subspaces.
TruthEditMetrics truth_edit_metrics_honest(const SynthTruth& truth, const torch::Tensor& x, const torch::Tensor& x_edit,
                                           const torch::Tensor& attribute, const torch::Tensor& sign) {
  const int64_t A = truth.num_attributes(), R = truth.region_bases.size(0);
  auto xf = x.to(torch::kFloat), xe = x_edit.to(torch::kFloat);
  auto dx = xe - xf;
  auto before = synth_truth_strengths(truth, xf), after = synth_truth_strengths(truth, xe);  // [B, A]
  auto a = attribute.to(torch::kLong).unsqueeze(1);
  auto sgn = sign.to(torch::kFloat);
  TruthEditMetrics m;
  auto s_after = after.gather(1, a).squeeze(1);
  auto threshold = truth.thresholds.index_select(0, a.squeeze(1));
  m.success = torch::where(sgn > 0, s_after > threshold, s_after <= threshold).to(torch::kFloat);
  auto others = torch::ones_like(after).scatter_(1, a, 0.0);
  m.preservation = A > 1 ? ((after - before).abs() * others).sum(1) / double(A - 1) : torch::zeros_like(sgn);
  m.identity = torch::cosine_similarity(synth_truth_identity_coords(truth, xe), synth_truth_identity_coords(truth, xf),
                                        1, 1e-12);
  auto total = (dx * dx).sum(1);
  const int64_t m_dims = truth.region_bases.size(1);
  auto coords = torch::mm(dx, truth.region_bases.reshape({R * m_dims, -1}).t());           // [B, R m]
  auto region_energy = (coords * coords).reshape({-1, R, m_dims}).sum(2);                   // [B, R]
  auto pick = [&](const torch::Tensor& region) {  // energy of each row in its region; 0 where the region is -1
    auto idx = region.index_select(0, a.squeeze(1));
    auto e = region_energy.gather(1, idx.clamp_min(0).unsqueeze(1)).squeeze(1);
    return torch::where(idx >= 0, e, torch::zeros_like(e));
  };
  auto in_target = pick(truth.target_region), in_leak = pick(truth.leak_region);
  auto idc = torch::mm(dx, truth.identity_basis.t());
  auto share = [&](const torch::Tensor& inside) {
    return torch::where(total > 0, inside / total.clamp_min(std::numeric_limits<float>::min()), torch::zeros_like(total));
  };
  m.locality = share(in_target);
  m.over_editing = torch::where(total > 0, (1 - share(in_target + in_leak)).clamp_min(0), torch::zeros_like(total));
  m.identity_leak = share((idc * idc).sum(1));
  m.drift = latent_drift(xf, xe);
  return m;
}
}  // namespace

TruthEditMetrics truth_edit_metrics(const SynthTruth& truth, const torch::Tensor& x, const torch::Tensor& x_edit,
                                    const torch::Tensor& strengths, const torch::Tensor& attribute,
                                    const torch::Tensor& sign) {
  torch::NoGradGuard no_grad;
  if (truth.honest()) return truth_edit_metrics_honest(truth, x, x_edit, attribute, sign);
  const int64_t A = truth.num_attributes();
  auto dx = x_edit - x;
  auto ds = truth_strength_delta(truth, dx);  // [B, A]
  auto a = attribute.to(torch::kLong).unsqueeze(1);
  auto sgn = sign.to(torch::kFloat);
  TruthEditMetrics m;
  auto s_after = (strengths.to(torch::kFloat) + ds).gather(1, a).squeeze(1);
  m.success = torch::where(sgn > 0, s_after > truth.label_threshold, s_after <= truth.label_threshold).to(torch::kFloat);
  auto others = torch::ones_like(ds).scatter_(1, a, 0.0);
  m.preservation = A > 1 ? (ds.abs() * others).sum(1) / double(A - 1) : torch::zeros_like(sgn);
  m.identity = torch::cosine_similarity(truth_identity(truth, x_edit), truth_identity(truth, x), 1, 1e-12);
  auto energy = dx * dx;
  auto region = truth.region_of_dim.unsqueeze(0);                           // [1, D]
  auto target = truth.target_region.index_select(0, a.squeeze(1)).unsqueeze(1);  // [B, 1]
  auto leak = truth.leak_region.index_select(0, a.squeeze(1)).unsqueeze(1);
  auto in_target = region.eq(target).to(torch::kFloat);
  auto in_leak = region.eq(leak).to(torch::kFloat);
  m.locality = energy_share(energy, in_target);
  m.over_editing = energy_share(energy, 1 - torch::clamp_max(in_target + in_leak, 1));
  m.drift = latent_drift(x, x_edit);
  return m;
}

JudgeEditMetrics judge_edit_metrics(const torch::Tensor& logits, const torch::Tensor& logits_edit,
                                    const torch::Tensor& attribute, const torch::Tensor& sign) {
  torch::NoGradGuard no_grad;
  const int64_t A = logits.size(1);
  auto a = attribute.to(torch::kLong).unsqueeze(1);
  auto after = logits_edit.gather(1, a).squeeze(1);
  JudgeEditMetrics m;
  m.success = torch::where(sign.to(torch::kFloat) > 0, after > 0, after <= 0).to(torch::kFloat);
  auto others = torch::ones_like(logits).scatter_(1, a, 0.0);
  auto denominator = double(std::max<int64_t>(1, A - 1));
  m.preservation = ((logits_edit - logits).abs() * others).sum(1) / denominator;
  m.other_flips = ((logits_edit > 0).ne(logits > 0).to(torch::kFloat) * others).sum(1) / denominator;
  return m;
}

MetricAccumulator::MetricAccumulator(int64_t num_attributes, std::vector<std::string> metric_names)
    : names_(std::move(metric_names)),
      sums_(num_attributes * names_.size(), 0.0),
      counts_(num_attributes, 0.0),
      excluded_(num_attributes * names_.size(), 0) {}

int MetricAccumulator::index_of(const std::string& name) const {
  for (size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name) return int(i);
  throw std::logic_error("metric '" + name + "' is not accumulated");
}

void MetricAccumulator::add(int64_t attribute, const std::string& name, const torch::Tensor& values) {
  const size_t i = attribute * names_.size() + index_of(name);
  if (excluded_[i]) return;
  sums_[i] += values.to(torch::kDouble).sum().item<double>();
}

void MetricAccumulator::exclude(int64_t attribute, const std::string& name) {
  excluded_[attribute * names_.size() + index_of(name)] = 1;
}

bool MetricAccumulator::excluded(int64_t attribute, const std::string& name) const {
  return excluded_[attribute * names_.size() + index_of(name)] != 0;
}

double MetricAccumulator::mean(int64_t attribute, const std::string& name) const {
  double n = counts_[attribute];
  if (n <= 0 || excluded(attribute, name)) return std::numeric_limits<double>::quiet_NaN();
  return sums_[attribute * names_.size() + index_of(name)] / n;
}

double MetricAccumulator::macro_mean(const std::vector<int>& attributes, const std::string& name) const {
  double total = 0;
  int used = 0;
  for (int a : attributes) {
    double v = mean(a, name);
    if (std::isnan(v)) continue;
    total += v;
    ++used;
  }
  return used ? total / used : std::numeric_limits<double>::quiet_NaN();
}

std::vector<double> MetricAccumulator::flat() const {
  std::vector<double> v(sums_);
  v.insert(v.end(), counts_.begin(), counts_.end());
  return v;
}

void MetricAccumulator::set_flat(const std::vector<double>& values) {
  if (values.size() != sums_.size() + counts_.size()) throw std::logic_error("MetricAccumulator::set_flat: wrong size");
  std::copy(values.begin(), values.begin() + sums_.size(), sums_.begin());
  std::copy(values.begin() + sums_.size(), values.end(), counts_.begin());
}

}  // namespace s3e
