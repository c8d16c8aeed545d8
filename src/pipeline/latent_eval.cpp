#include "pipeline/latent_eval.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "core/errors.h"
#include "core/progress.h"
#include "store/h5_util.h"
#include "store/latent_store.h"

namespace s3e {

namespace {

// Column of each of `names` in a classifier's attribute list; DataError naming `what` when one is missing.
std::vector<int64_t> columns_of(const std::vector<std::string>& names, const std::vector<std::string>& have,
                                const std::string& what) {
  std::vector<int64_t> out;
  for (auto& n : names) {
    auto it = std::find(have.begin(), have.end(), n);
    if (it == have.end()) throw DataError(fmt::format("{} has no attribute '{}' (the editor edits it)", what, n));
    out.push_back(int64_t(it - have.begin()));
  }
  return out;
}

std::vector<int> int_attribute(const LatentStore& store, const std::string& name) {
  std::vector<int> out;
  for (int64_t v : h5_attr_read_int64s(store.file(), name, store.path().string())) out.push_back(int(v));
  return out;
}

}  // namespace

std::vector<LatentEvalResult> latent_eval_run(const LatentStore& source, const LatentStore& edited,
                                              const ClassifierBundle& classifier, const SynthTruth* truth,
                                              const ClassifierBundle* judge, const LatentEvalOptions& o,
                                              Communicator& comm) {
  torch::NoGradGuard no_grad;
  const std::string edited_path = edited.path().string();
  if (edited.attribute_text("edit_mode") != "protocol" || edited.attribute_text("edit_protocol") != "flip-each")
    throw UsageError(fmt::format("{} was not written by `edit --protocol flip-each` (edit_mode '{}'): eval-latent "
                                 "judges flip-each edits, whose sign it knows from the labels", edited_path,
                                 edited.attribute_text("edit_mode")));
  const int64_t A = source.num_attributes(), D = source.latent_dim();
  if (edited.attribute_names() != source.attribute_names() || edited.latent_dim() != D)
    throw DataError(fmt::format("{} does not match its source {} (attributes or latent size differ)", edited_path,
                                source.path().string()));
  if (classifier.net->latent_dim() != D)
    throw DataError(fmt::format("the classifier takes {} latent dims but {} has {}", classifier.net->latent_dim(),
                                source.path().string(), D));
  if (judge && judge->net->latent_dim() != D)
    throw DataError(fmt::format("the judge classifier takes {} latent dims but {} has {}", judge->net->latent_dim(),
                                source.path().string(), D));
  if (truth) {
    if (truth->dim() != D || truth->num_attributes() != A)
      throw DataError(fmt::format("{}: ground truth of {} attributes x {} dims does not match {} ({} x {})",
                                  truth->path.string(), truth->num_attributes(), truth->dim(), source.path().string(), A, D));
    if (!truth->attribute_names.empty() && truth->attribute_names != source.attribute_names())
      throw DataError(fmt::format("{}: attribute names differ from {}'s", truth->path.string(), source.path().string()));
  }
  const auto& names = source.attribute_names();
  auto own_columns = columns_of(names, classifier.attribute_names, "the editor's classifier");
  std::vector<int64_t> judge_columns;
  if (judge) judge_columns = columns_of(names, judge->attribute_names, "the judge classifier");
  std::unique_ptr<LatentStore> truth_rows;
  if (truth) {
    truth_rows = std::make_unique<LatentStore>(truth->path, "s3editor.synth_truth");
    if (truth_rows->size() != source.size())
      throw DataError(fmt::format("{} has {} rows but {} has {}: not this store's ground truth", truth->path.string(),
                                  truth_rows->size(), source.path().string(), source.size()));
  }

  // The tags of every edited row (small: 20 bytes a row), read by every rank: strengths, sources, split.
  const int64_t N = edited.size();
  std::vector<int64_t> source_row(N), attribute(N);
  std::vector<float> strength(N);
  edited.read_range_i64("edit/source_row", 0, N, source_row.data());
  edited.read_range_i64("edit/attribute", 0, N, attribute.data());
  edited.read_range_f32("edit/strength", 0, N, strength.data());
  std::set<float> magnitudes;
  std::set<int64_t> sources;
  for (int64_t i = 0; i < N; ++i) {
    if (source_row[i] < 0 || source_row[i] >= source.size() || attribute[i] < 0 || attribute[i] >= A ||
        !std::isfinite(strength[i]) || strength[i] == 0)
      throw DataError(fmt::format("{}: row {} (source row {}, attribute {}, strength {}) does not fit the source {} "
                                  "of {} rows x {} attributes", edited_path, i, source_row[i], attribute[i],
                                  strength[i], source.path().string(), source.size(), A));
    magnitudes.insert(std::fabs(strength[i]));
    sources.insert(source_row[i]);
  }
  if (N == 0) throw DataError(fmt::format("{} holds no edited rows", edited_path));
  const std::vector<float> levels(magnitudes.begin(), magnitudes.end());
  const bool truth_on = truth != nullptr, judge_on = judge != nullptr;
  std::vector<LatentEvalResult> results(levels.size());
  for (size_t k = 0; k < levels.size(); ++k) {
    LatentEvalResult& r = results[k];
    r.attribute_names = names;
    r.seen = int_attribute(edited, "edit_seen_attributes");
    r.unseen = int_attribute(edited, "edit_unseen_attributes");
    r.has_truth = truth_on;
    r.has_judge = judge_on;
    r.first_row = *sources.begin();
    r.num_rows = int64_t(sources.size());
    r.strength = levels[k];
    r.metrics = MetricAccumulator(A, latent_eval_metric_names(truth_on, judge_on, truth_on && truth->honest()));
  }
  // The circular success reads the editor's classifier's head of each attribute; a head its training left out
  // (classifier.ignore_attributes) is its random initialisation, so that attribute's circular success is left out
  // (null per attribute; the seen / unseen averages are over trained heads). Ground truth and judge are unaffected.
  std::vector<std::string> untrained;
  for (int64_t a = 0; a < A; ++a) {
    if (classifier.trains(own_columns[size_t(a)])) continue;
    untrained.push_back(names[size_t(a)]);
    for (auto& r : results) r.metrics.exclude(a, "classifier_success_circular");
  }
  if (!untrained.empty() && comm.rank() == 0)
    spdlog::info("eval-latent: classifier_success_circular leaves out {} attribute(s) whose head the editor's "
                 "classifier did not train (classifier.ignore_attributes): {}", untrained.size(),
                 fmt::join(untrained, ", "));

  // Each rank takes a contiguous block of the edited rows; sums are added at the end.
  const int64_t per_rank = (N + comm.size() - 1) / comm.size();
  const int64_t begin = std::min(N, per_rank * comm.rank()), end = std::min(N, begin + per_rank);
  Progress progress("eval-latent", N, comm.rank() == 0);
  for (int64_t b0 = begin; b0 < end; b0 += o.batch_size) {
    const int64_t n = std::min(o.batch_size, end - b0);
    std::vector<int64_t> src(source_row.begin() + b0, source_row.begin() + b0 + n);
    auto x = torch::empty({n, D}), x_edit = torch::empty({n, D});
    source.read_latents(src, x.data_ptr<float>());
    edited.read_range_f32("latents", b0, n, x_edit.data_ptr<float>());
    torch::Tensor strengths;
    if (truth) {
      strengths = torch::empty({n, A});
      truth_rows->read_rows_f32("strengths", src, strengths.data_ptr<float>());
    }
    auto own_before = classifier.net->forward(classifier.normalise(x));
    auto own_after = classifier.net->forward(classifier.normalise(x_edit));
    torch::Tensor judge_before, judge_after;
    if (judge) {
      judge_before = judge->net->forward(judge->normalise(x));
      judge_after = judge->net->forward(judge->normalise(x_edit));
    }
    // Group the batch's rows by (strength level, attribute): the accumulator sums per attribute.
    std::map<std::pair<size_t, int64_t>, std::vector<int64_t>> groups;
    for (int64_t i = 0; i < n; ++i) {
      const size_t level = size_t(std::lower_bound(levels.begin(), levels.end(), std::fabs(strength[b0 + i])) - levels.begin());
      groups[{level, attribute[b0 + i]}].push_back(i);
    }
    for (auto& [key, members] : groups) {
      const auto [level, a] = key;
      MetricAccumulator& acc = results[level].metrics;
      const int64_t m = int64_t(members.size());
      auto index = torch::tensor(members, torch::kLong);
      std::vector<float> signs;
      for (int64_t i : members) signs.push_back(strength[b0 + i] > 0 ? 1.f : -1.f);
      auto sign = torch::tensor(signs);
      auto xs = x.index_select(0, index), xe = x_edit.index_select(0, index);
      auto attr = torch::full({m}, a, torch::kLong);
      acc.add_count(a, m);
      acc.add(a, "drift", latent_drift(xs, xe));
      auto own = judge_edit_metrics(own_before.index_select(0, index), own_after.index_select(0, index),
                                    torch::full({m}, own_columns[a], torch::kLong), sign);
      if (!acc.excluded(a, "classifier_success_circular")) acc.add(a, "classifier_success_circular", own.success);
      if (judge) {
        auto jm = judge_edit_metrics(judge_before.index_select(0, index), judge_after.index_select(0, index),
                                     torch::full({m}, judge_columns[a], torch::kLong), sign);
        acc.add(a, "judge_success", jm.success);
        acc.add(a, "judge_preservation_error", jm.preservation);
        acc.add(a, "judge_other_flips", jm.other_flips);
      }
      if (truth) {
        auto tm = truth_edit_metrics(*truth, xs, xe, strengths.index_select(0, index), attr, sign);
        acc.add(a, "success", tm.success);
        acc.add(a, "preservation_error", tm.preservation);
        acc.add(a, "identity", tm.identity);
        acc.add(a, "locality", tm.locality);
        acc.add(a, "over_editing", tm.over_editing);
        if (tm.identity_leak.defined()) acc.add(a, "identity_leak", tm.identity_leak);
      }
    }
    progress.advance(n * comm.size());
  }
  progress.finish();
  if (comm.size() > 1) {
    for (auto& r : results) {
      auto flat = r.metrics.flat();
      comm.allreduce(flat.data(), flat.size(), DType::f64, ReduceOp::sum);
      r.metrics.set_flat(flat);
    }
  }
  return results;
}

nlohmann::json latent_eval_matched_success(const std::vector<nlohmann::json>& reports,
                                           const std::vector<double>& targets) {
  using nlohmann::json;
  if (reports.empty()) return nullptr;
  auto has_metric = [&](const std::string& m) {
    for (auto& r : reports)
      if (!r.contains("metrics") || std::find(r["metrics"].begin(), r["metrics"].end(), m) == r["metrics"].end())
        return false;
    return true;
  };
  const std::string key = has_metric("success") ? "success" : (has_metric("judge_success") ? "judge_success" : "");
  if (key.empty()) return nullptr;
  const std::vector<std::string> metrics = reports[0]["metrics"].get<std::vector<std::string>>();
  auto value = [](const json& group, const std::string& m) -> std::optional<double> {
    if (!group.contains(m) || !group[m].is_number()) return std::nullopt;
    return group[m].get<double>();
  };
  json out = {{"success_metric", key}, {"targets", targets}, {"by_target", json::array()}};
  for (double t : targets) {
    json entry = {{"target", t}};
    for (const char* split : {"seen", "unseen"}) {
      json matched = nullptr;
      for (size_t i = 0; i + 1 < reports.size() && matched.is_null(); ++i) {
        const json& lo = reports[i]["summary"][split];
        const json& hi = reports[i + 1]["summary"][split];
        auto v_lo = value(lo, key), v_hi = value(hi, key);
        if (!v_lo || !v_hi || std::min(*v_lo, *v_hi) > t || std::max(*v_lo, *v_hi) < t) continue;
        const double w = *v_hi == *v_lo ? 0.0 : (t - *v_lo) / (*v_hi - *v_lo);
        const double s_lo = reports[i]["strength"].get<double>(), s_hi = reports[i + 1]["strength"].get<double>();
        matched = {{"strength", s_lo + w * (s_hi - s_lo)}, {"between", {s_lo, s_hi}}};
        for (const auto& m : metrics) {
          auto a = value(lo, m), b = value(hi, m);
          matched[m] = a && b ? json(*a + w * (*b - *a)) : json(nullptr);
        }
      }
      entry[split] = matched;
    }
    out["by_target"].push_back(entry);
  }
  return out;
}

}  // namespace s3e
