// s3editor eval-latent — evaluates a trained editor in latent space (docs/metrics.md) on the rows the trainer held
// out (the last train.validation_share of the store): every sample, every attribute (seen and unseen), the edit
// that flips it. Judged by the synthetic world's ground truth when the store has one, else by a second classifier
// (--judge): never only by the classifier the editor was trained against, which is reported but marked circular.
// Writes metrics JSON + a one-row CSV (atomically) and prints a short table.
#include "pipeline/eval_latent.h"

#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <iostream>

#include "core/errors.h"
#include "core/file_util.h"
#include "editor/editor_io.h"
#include "editor/latent_classifier.h"
#include "pipeline/latent_eval.h"
#include "metrics/metrics_report.h"
#include "store/latent_store.h"

namespace fs = std::filesystem;

namespace s3e {
namespace {

bool same_weights(const ClassifierBundle& a, const ClassifierBundle& b) {
  auto pa = a.net->parameters(), pb = b.net->parameters();
  if (pa.size() != pb.size()) return false;
  for (size_t i = 0; i < pa.size(); ++i)
    if (!pa[i].sizes().equals(pb[i].sizes()) || !torch::equal(pa[i], pb[i])) return false;
  return true;
}

}  // namespace

void pipeline_eval_latent_add_config(ConfigSchema& schema) {
  schema
      .add_real("eval.strength", 1.0, "|g| of every edit (for lt_linear/region_mlp the trainer's coefficients are in "
                                      "[-1, 1]; linear: units of the editor's linear scale)", 0, 100)
      .add_int("eval.max_samples", 0, "evaluate at most this many held-out rows (0 = all)", 0, 1e12)
      .add_int("eval.batch_size", 256, "rows per batch", 1, 1e6)
      .add_real("train.validation_share", 0.1,
                "share of rows held out by the trainer (the last rows); only these are evaluated. Use the trainer's "
                "value", 0, 0.9);
}

int pipeline_eval_latent_run(Communicator& comm, const EvalLatentOptions& options) {
  const StageRun& stage = options.run;
  torch::set_num_threads(stage.threads());
  const Config& cfg = stage.config;
  const std::string store_path = options.store;
  const std::string classifier_path = options.classifier;
  const std::string editor_path = options.editor;
  const std::string judge_path = options.judge;
  fs::path out = options.out;
  fs::path csv_out = out.parent_path() / (out.stem().string() + ".csv");
  if (!out.parent_path().empty()) file_ensure_writable_dir(out.parent_path());

  LatentStore store(store_path);
  fs::path truth_path = synth_truth_path_for(store, options.truth);
  if (truth_path.empty() && judge_path.empty())
    throw UsageError(fmt::format("{} has no ground truth: give --judge C2.pt, a classifier trained separately (another "
                                 "seed); success judged only by the editor's own classifier would be circular",
                                 store_path));
  ClassifierBundle classifier = classifier_load(classifier_path);
  std::unique_ptr<ClassifierBundle> judge;
  if (!judge_path.empty()) {
    judge = std::make_unique<ClassifierBundle>(classifier_load(judge_path));
    if (same_weights(*judge, classifier))
      throw UsageError(fmt::format("--judge {} is the editor's own classifier {}: judging by it is circular; train "
                                   "a second one with another seed", judge_path, classifier_path));
  }
  std::unique_ptr<SynthTruth> truth;
  if (!truth_path.empty()) truth = std::make_unique<SynthTruth>(synth_truth_load(truth_path));
  EditorBundle editor = editor_load(editor_path);

  LatentEvalOptions eval_options;
  eval_options.strength = cfg.get_real("eval.strength");
  eval_options.max_samples = cfg.get_int("eval.max_samples");
  eval_options.batch_size = cfg.get_int("eval.batch_size");
  eval_options.validation_share = cfg.get_real("train.validation_share");
  if (comm.rank() == 0)
    spdlog::info("eval-latent: {} editor {} on {}; judged by {}", editor.model->spec().transform, editor_path, store_path,
                 truth ? "ground truth " + truth_path.string() : "judge classifier " + judge_path);
  LatentEvalResult result = latent_eval_run(store, classifier, editor, truth.get(), judge.get(), eval_options, comm);

  if (comm.rank() == 0) {
    LatentEvalInfo info{store_path, editor_path, classifier_path, judge_path, truth_path.string(),
                        editor.model->spec().transform, eval_options.strength, eval_options.validation_share};
    file_write_atomic(out, metrics_report_json(result, info).dump(2) + "\n");
    file_write_atomic(csv_out, metrics_report_csv(result, info));
    std::cout << fmt::format("eval-latent: {} rows from row {} of {}, strength {}\n", result.num_rows,
                             result.first_row, store_path, eval_options.strength)
              << metrics_report_table(result) << std::flush;
    spdlog::info("wrote {} and {}", out.string(), csv_out.string());
  }
  return 0;
}

}  // namespace s3e
