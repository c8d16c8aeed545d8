#include "pipeline/latent_eval.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "core/errors.h"
#include "core/progress.h"
#include "editor/editor_apply.h"
#include "editor/store_tensors.h"
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

}  // namespace

LatentEvalResult latent_eval_run(const LatentStore& store, const ClassifierBundle& classifier, EditorBundle& editor,
                                 const SynthTruth* truth, const ClassifierBundle* judge, const LatentEvalOptions& o,
                                 Communicator& comm) {
  torch::NoGradGuard no_grad;
  const auto& ctx = editor.ctx;
  const int64_t A = store.num_attributes(), D = store.latent_dim();
  if (ctx.attribute_names != store.attribute_names())
    throw DataError(fmt::format("{}: its attributes differ from the editor's (was the editor trained on this store?)",
                                store.path().string()));
  if (classifier.net->latent_dim() != D)
    throw DataError(fmt::format("the classifier takes {} latent dims but {} has {}", classifier.net->latent_dim(),
                                store.path().string(), D));
  if (judge && judge->net->latent_dim() != D)
    throw DataError(fmt::format("the judge classifier takes {} latent dims but {} has {}", judge->net->latent_dim(),
                                store.path().string(), D));
  if (truth) {
    if (truth->dim() != D || truth->num_attributes() != A)
      throw DataError(fmt::format("{}: ground truth of {} attributes x {} dims does not match {} ({} x {})",
                                  truth->path.string(), truth->num_attributes(), truth->dim(), store.path().string(), A, D));
    if (!truth->attribute_names.empty() && truth->attribute_names != store.attribute_names())
      throw DataError(fmt::format("{}: attribute names differ from {}'s", truth->path.string(), store.path().string()));
  }
  auto own_columns = columns_of(ctx.attribute_names, classifier.attribute_names, "the editor's classifier");
  std::vector<int64_t> judge_columns;
  if (judge) judge_columns = columns_of(ctx.attribute_names, judge->attribute_names, "the judge classifier");

  LatentEvalResult r;
  r.attribute_names = ctx.attribute_names;
  r.seen = ctx.train_attributes;
  r.unseen = ctx.heldout_attributes;
  r.has_truth = truth != nullptr;
  r.has_judge = judge != nullptr;
  std::tie(r.first_row, r.num_rows) = latent_eval_rows(store.size(), o.validation_share, o.max_samples);
  r.metrics = MetricAccumulator(A, latent_eval_metric_names(r.has_truth, r.has_judge));
  std::unique_ptr<LatentStore> truth_rows;
  if (truth) {
    truth_rows = std::make_unique<LatentStore>(truth->path, "s3editor.synth_truth");
    if (truth_rows->size() != store.size())
      throw DataError(fmt::format("{} has {} rows but {} has {}: not this store's ground truth", truth->path.string(),
                                  truth_rows->size(), store.path().string(), store.size()));
  }
  editor.model->eval();

  // Each rank takes a contiguous block of the evaluated rows; sums are added at the end.
  const int64_t per_rank = (r.num_rows + comm.size() - 1) / comm.size();
  const int64_t begin = std::min(r.num_rows, per_rank * comm.rank()), end = std::min(r.num_rows, begin + per_rank);
  std::vector<int> attributes = r.seen;
  attributes.insert(attributes.end(), r.unseen.begin(), r.unseen.end());
  Progress progress("eval-latent", r.num_rows, comm.rank() == 0);
  for (int64_t b0 = begin; b0 < end; b0 += o.batch_size) {
    const int64_t n = std::min(o.batch_size, end - b0);
    std::vector<int64_t> rows(n);
    for (int64_t i = 0; i < n; ++i) rows[i] = r.first_row + b0 + i;
    auto x = torch::empty({n, D});
    auto labels = torch::empty({n, A});
    store.read_latents(rows, x.data_ptr<float>());
    store.read_labels(rows, labels.data_ptr<float>());
    torch::Tensor strengths;
    if (truth) {
      strengths = torch::empty({n, A});
      truth_rows->read_rows_f32("strengths", rows, strengths.data_ptr<float>());
    }
    auto z = classifier.normalise(x);
    auto own_before = classifier.net->forward(z);
    torch::Tensor judge_before = judge ? judge->net->forward(judge->normalise(x)) : torch::Tensor();
    for (int a : attributes) {
      // Samples with an unknown label (NaN) cannot be flipped: skip them for this attribute.
      auto label = labels.select(1, a);
      auto known = label.isnan().logical_not().nonzero().squeeze(1);
      const int64_t m = known.size(0);
      if (m == 0) continue;
      auto xs = x.index_select(0, known), zs = z.index_select(0, known);
      auto sign = torch::where(label.index_select(0, known) > 0.5, -torch::ones({m}), torch::ones({m}));
      auto attribute = torch::full({m}, int64_t(a), torch::kLong);
      auto z_edit = editor_apply(editor.model, ctx, zs, attribute, sign * o.strength);
      // x' = x + std * (z' - z): dims the editor leaves alone stay bit-identical (no denormalisation round trip).
      auto x_edit = xs + (z_edit - zs) * classifier.std;
      r.metrics.add_count(a, m);
      r.metrics.add(a, "drift", latent_drift(xs, x_edit));
      auto own = judge_edit_metrics(own_before.index_select(0, known), classifier.net->forward(z_edit),
                                    torch::full({m}, own_columns[a], torch::kLong), sign);
      r.metrics.add(a, "classifier_success_circular", own.success);
      if (judge) {
        auto jm = judge_edit_metrics(judge_before.index_select(0, known), judge->net->forward(judge->normalise(x_edit)),
                                     torch::full({m}, judge_columns[a], torch::kLong), sign);
        r.metrics.add(a, "judge_success", jm.success);
        r.metrics.add(a, "judge_preservation_error", jm.preservation);
        r.metrics.add(a, "judge_other_flips", jm.other_flips);
      }
      if (truth) {
        auto tm = truth_edit_metrics(*truth, xs, x_edit, strengths.index_select(0, known), attribute, sign);
        r.metrics.add(a, "success", tm.success);
        r.metrics.add(a, "preservation_error", tm.preservation);
        r.metrics.add(a, "identity", tm.identity);
        r.metrics.add(a, "locality", tm.locality);
        r.metrics.add(a, "over_editing", tm.over_editing);
      }
    }
    progress.advance(n * comm.size());
  }
  progress.finish();
  if (comm.size() > 1) {
    auto flat = r.metrics.flat();
    comm.allreduce(flat.data(), flat.size(), DType::f64, ReduceOp::sum);
    r.metrics.set_flat(flat);
  }
  return r;
}

}  // namespace s3e
