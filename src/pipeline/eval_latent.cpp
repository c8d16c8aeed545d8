// s3editor eval-latent — judges an edited store in latent space (docs/metrics.md): every row `edit --protocol
// flip-each` wrote against its source row. Judged by the synthetic world's ground truth when the source store has
// one, else by a second classifier (--judge): never only by the classifier the editor was trained against, which is
// reported but marked circular. The source store and the classifier default to those the edited store names (the
// upstream's lineage), so they need not be typed again. Writes metrics JSON + CSV (atomically), prints a table.
#include "pipeline/eval_latent.h"

#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "core/errors.h"
#include "core/file_util.h"
#include "dist/sha256.h"
#include "editor/latent_classifier.h"
#include "metrics/metrics_report.h"
#include "pipeline/latent_eval.h"
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

// An input the edited store names, unless given: `what` explains it in errors.
std::string upstream_input(const std::string& given, const LatentStore& edited, const std::string& attribute,
                           const std::string& flag) {
  if (!given.empty()) return given;
  std::string named = edited.attribute_text(attribute);
  if (named.empty())
    throw UsageError(fmt::format("{} does not name its {} (attribute {}): give --{}", edited.path().string(), flag,
                                 attribute, flag));
  if (!fs::exists(named))
    throw DataError(fmt::format("{} names {} as its {}, which is gone: give --{}", edited.path().string(), named, flag,
                                flag));
  return named;
}

// eval.match_success's targets, each in [0, 1]; UsageError naming the key otherwise.
std::vector<double> match_targets(const Config& cfg) {
  std::vector<double> out;
  if (cfg.get_text("eval.match_success").empty()) return out;
  for (auto& text : cfg.get_text_list("eval.match_success")) {
    size_t used = 0;
    double v = -1;
    try {
      v = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != text.size() || !(v >= 0 && v <= 1))
      throw UsageError(fmt::format("eval.match_success = '{}' (from {}): '{}' is not a success rate in [0, 1]",
                                   cfg.get_text("eval.match_success"), cfg.source_of("eval.match_success"), text));
    out.push_back(v);
  }
  return out;
}

// The matched-success table for the terminal: per target, the strength and each metric, seen and unseen.
std::string matched_table(const nlohmann::json& matched) {
  std::string out;
  auto cell = [](const nlohmann::json& group, const std::string& key) {
    if (group.is_null()) return std::string("not reached");
    return group[key].is_number() ? fmt::format("{:.4f}", group[key].get<double>()) : std::string("-");
  };
  for (auto& entry : matched["by_target"]) {
    out += fmt::format("at matched {} = {}:\n  {:<28} {:>12} {:>12}\n", matched["success_metric"].get<std::string>(),
                       entry["target"].get<double>(), "", "seen", "unseen");
    std::vector<std::string> keys = {"strength", matched["success_metric"].get<std::string>()};
    for (const char* split : {"seen", "unseen"})
      if (entry[split].is_object())
        for (auto& [k, v] : entry[split].items())
          if (k != "strength" && k != "between" && std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    for (auto& k : keys) out += fmt::format("  {:<28} {:>12} {:>12}\n", k, cell(entry["seen"], k), cell(entry["unseen"], k));
  }
  return out;
}

}  // namespace

void pipeline_eval_latent_add_config(ConfigSchema& schema) {
  schema.add_int("eval.batch_size", 256, "edited rows per batch", 1, 1e6);
  schema.add_text("eval.match_success", "0.8",
                  "curves (edit --strengths): comma-separated target success rates at which the editors are compared: "
                  "each metric interpolated in strength between the two strengths whose success brackets the target "
                  "(metrics.json's matched_success); empty = none");
}

int pipeline_eval_latent_run(Communicator& comm, const EvalLatentOptions& options) {
  const StageRun& stage = options.run;
  torch::set_num_threads(stage.threads());
  const Config& cfg = stage.config;
  fs::path out = options.out;
  fs::path csv_out = out.parent_path() / (out.stem().string() + ".csv");
  if (!out.parent_path().empty()) file_ensure_writable_dir(out.parent_path());

  LatentStore edited(options.edited);
  const std::string store_path = upstream_input(options.store, edited, "edit_source_store", "store");
  const std::string classifier_path = upstream_input(options.classifier, edited, "edit_classifier", "classifier");
  const std::string recorded_sha = edited.attribute_text("edit_classifier_sha256");
  if (!recorded_sha.empty()) {
    const std::string sha = sha256_file(classifier_path);
    if (sha != recorded_sha)
      throw DataError(fmt::format("{} was edited by an editor trained with the classifier of SHA-256 {}, but {} has "
                                  "{}", options.edited, recorded_sha, classifier_path, sha));
  }
  LatentStore store(store_path);
  fs::path truth_path = synth_truth_path_for(store, options.truth);
  const std::string& judge_path = options.judge;
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

  LatentEvalOptions eval_options;
  eval_options.batch_size = cfg.get_int("eval.batch_size");
  const std::vector<double> targets = match_targets(cfg);  // a bad value fails before the work
  const std::string transform = edited.attribute_text("edit_transform");
  if (comm.rank() == 0)
    spdlog::info("eval-latent: {} edits in {} of {}; judged by {}", transform, options.edited, store_path,
                 truth ? "ground truth " + truth_path.string() : "judge classifier " + judge_path);
  std::vector<LatentEvalResult> results =
      latent_eval_run(store, edited, classifier, truth.get(), judge.get(), eval_options, comm);

  if (comm.rank() == 0) {
    const std::string share_text = edited.attribute_text("edit_validation_share");
    LatentEvalInfo info{store_path, options.edited, edited.attribute_text("edit_editor"), classifier_path, judge_path,
                        truth_path.string(), transform, share_text.empty() ? 0.0 : std::stod(share_text)};
    // One strength: the report itself. Several (a curve): one report per strength, and one CSV row each.
    nlohmann::json json;
    std::string csv;
    if (results.size() == 1) {
      json = metrics_report_json(results[0], info);
      csv = metrics_report_csv(results[0], info);
    } else {
      json = {{"schema", "s3editor.latent_metrics_curve"}, {"schema_version", 1}};
      std::vector<nlohmann::json> reports;
      for (auto& r : results) {
        json["strengths"].push_back(r.strength);
        reports.push_back(metrics_report_json(r, info));
        json["by_strength"].push_back(reports.back());
        std::string one = metrics_report_csv(r, info);
        csv += csv.empty() ? one : one.substr(one.find('\n') + 1);
      }
      if (!targets.empty()) json["matched_success"] = latent_eval_matched_success(reports, targets);
    }
    file_write_atomic(out, json.dump(2) + "\n");
    file_write_atomic(csv_out, csv);
    for (auto& r : results)
      std::cout << fmt::format("eval-latent: {} source rows from row {} of {}, strength {}\n", r.num_rows,
                               r.first_row, store_path, r.strength)
                << metrics_report_table(r) << std::flush;
    if (json.contains("matched_success") && json["matched_success"].is_object())
      std::cout << matched_table(json["matched_success"]) << std::flush;
    spdlog::info("wrote {} and {}", out.string(), csv_out.string());
  }
  return 0;
}

}  // namespace s3e
