// s3editor train-classifier — trains Latent Transformer's latent classifier (LCNet) data-parallel over MPI ranks:
// one global permutation per epoch split over ranks (sampler), fused-bucket gradient allreduce, Adam, atomic
// checkpoints every train.checkpoint_every steps (a killed run resumes exactly), then per-attribute accuracy on the
// held-out rows (the last train.validation_share of the store). classifier.rows trains on a share of the training
// rows only (a second classifier on other rows); classifier.ignore_attributes leaves attributes out of the loss, so
// the classifier never learns them and its file says which it trained (attributes unseen by the classifier too).
#include "pipeline/train_classifier.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <chrono>
#include <cmath>
#include "core/errors.h"
#include "core/file_util.h"
#include "core/progress.h"
#include "core/stop_signal.h"
#include "dist/checkpoint.h"
#include "dist/comm_config.h"
#include "dist/comm_tensor.h"
#include "dist/grad_reducer.h"
#include "dist/sampler.h"
#include "dist/torch_bytes.h"
#include "dist/torch_state.h"
#include "editor/latent_classifier.h"
#include "editor/store_tensors.h"
#include "editor/train_log.h"
#include "store/latent_store.h"
#include "store/row_split.h"

namespace fs = std::filesystem;

namespace s3e {
void pipeline_train_classifier_add_config(ConfigSchema& schema) {
  schema
      .add_int("classifier.steps", 1000, "optimiser steps", 1, 1e9)
      .add_int("classifier.batch_size", 128, "samples per rank per step", 1, 1e6)
      .add_real("classifier.lr", 1e-4, "Adam learning rate", 0, 10)
      .add_real("classifier.weight_decay", 5e-4, "Adam weight decay", 0, 10)
      .add_int("classifier.hidden1", 2048, "first hidden layer", 1, 1e6)
      .add_int("classifier.hidden2", 512, "second hidden layer", 1, 1e6)
      .add_int("classifier.norm_samples", 5000, "rows used for the normalisation statistics", 1, 1e9)
      .add_text("classifier.ignore_attributes", "",
                "attribute indices the loss ignores, e.g. 32-39 (the BCE's mean is over the other attributes): "
                "their heads stay untrained and the file records which attributes were trained")
      .add_text("classifier.rows", "0-1",
                "fractions A-B of the training split's rows (in row order) to train on and take the normalisation "
                "from, 0 <= A < B <= 1: e.g. 0.5-1 = its second half (a second classifier on other rows)")
      .add_real("train.validation_share", 0.1, "share of samples held out (last rows) for evaluation", 0, 0.9)
      .add_int("train.checkpoint_every", 500, "steps between checkpoints", 1, 1e9)
      .add_int("train.keep_last", 2, "checkpoints kept", 1, 1000)
      .add_int("train.log_every", 50, "steps between log lines", 1, 1e9);
}

std::pair<double, double> classifier_rows_parse(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return UsageError(fmt::format("config key classifier.rows: '{}' {} (expected A-B with 0 <= A < B <= 1, e.g. 0.5-1)",
                                  text, why));
  };
  auto number = [&](std::string part) {
    part.erase(0, part.find_first_not_of(" \t"));
    part.erase(part.find_last_not_of(" \t") + 1);
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (part.empty() || used != part.size() || !std::isfinite(v)) throw bad("is not two numbers A-B");
    return v;
  };
  const size_t dash = text.find('-');
  if (dash == std::string::npos) throw bad("is not a range A-B");
  const double from = number(text.substr(0, dash)), to = number(text.substr(dash + 1));
  if (!(from >= 0 && from < to && to <= 1)) throw bad("is not an increasing range within 0-1");
  return {from, to};
}

int pipeline_train_classifier_run(Communicator& comm, const TrainClassifierOptions& options) {
  const StageRun& stage = options.run;
  torch::set_num_threads(stage.threads());
  const Config& cfg = stage.config;
  const bool root = comm.rank() == 0;
  fs::path out = options.out;
  fs::path ckpt_dir = stage.run_dir / "checkpoints" / "classifier";

  LatentStore store(options.store);
  if (store.num_attributes() == 0) throw DataError(store.path().string() + ": has no labels to train a classifier on");
  const RowSplit split = row_split(store, cfg.get_real("train.validation_share"));
  // classifier.rows: a contiguous share of the training list (ascending rows), so classifiers on 0-0.5 and 0.5-1
  // share no row. The held-out rows stay the split's, the same for every classifier.
  const auto [rows_from, rows_to] = classifier_rows_parse(cfg.get_text("classifier.rows"));
  const int64_t n_split = int64_t(split.train.size());
  const std::vector<int64_t> train_rows(split.train.begin() + std::llround(rows_from * double(n_split)),
                                        split.train.begin() + std::llround(rows_to * double(n_split)));
  const int64_t n_train = int64_t(train_rows.size());
  if (n_train < comm.size() * cfg.get_int("classifier.batch_size"))
    throw UsageError(fmt::format("{}: {} training rows (classifier.rows = {} of {}) are fewer than one global batch "
                                 "({} ranks x {})", store.path().string(), n_train, cfg.get_text("classifier.rows"),
                                 n_split, comm.size(), cfg.get_int("classifier.batch_size")));
  // classifier.ignore_attributes: those attributes leave the loss, so their heads get no gradient at all.
  const int64_t A = store.num_attributes();
  std::vector<bool> trained(size_t(A), true);
  for (int a : cfg.get_int_list("classifier.ignore_attributes")) {
    if (a < 0 || a >= A)
      throw UsageError(fmt::format("config key classifier.ignore_attributes: {} is outside 0..{}", a, A - 1));
    trained[size_t(a)] = false;
  }
  std::vector<int64_t> trained_list;
  std::vector<std::string> ignored_names;
  for (int64_t a = 0; a < A; ++a) {
    if (trained[size_t(a)]) trained_list.push_back(a);
    else ignored_names.push_back(store.attribute_names()[size_t(a)]);
  }
  if (trained_list.empty()) throw UsageError("config key classifier.ignore_attributes ignores every attribute");
  const bool ignoring = int64_t(trained_list.size()) < A;
  const auto trained_index = torch::tensor(trained_list, torch::kLong);
  const int64_t steps = cfg.get_int("classifier.steps"), batch = cfg.get_int("classifier.batch_size");

  ClassifierBundle bundle;
  std::tie(bundle.mean, bundle.std) = store_norm_stats(store, train_rows, cfg.get_int("classifier.norm_samples"));
  bundle.attribute_names = store.attribute_names();
  bundle.trained_attributes = trained;
  torch::manual_seed(stage.seed());
  bundle.net = LatentClassifier(store.latent_dim(), store.num_attributes(), cfg.get_int("classifier.hidden1"),
                                cfg.get_int("classifier.hidden2"));
  torch::optim::Adam optimizer(bundle.net->parameters(), torch::optim::AdamOptions(cfg.get_real("classifier.lr"))
                                                             .weight_decay(cfg.get_real("classifier.weight_decay")));
  DistributedSampler sampler({n_train, batch, stage.seed(), true, SamplerRemainder::drop}, comm.rank(), comm.size());
  int64_t step = 0;
  if (!stage.fresh) {
    if (auto checkpoint = checkpoint_open_latest(comm, ckpt_dir)) {
      torch_from_bytes(bundle.net, checkpoint->read_shared_file("model.pt"));
      torch_from_bytes(optimizer, checkpoint->read_shared_file("optimizer.pt"));
      sampler.restore(DistributedSampler::state_from_json(checkpoint->read_rank_file("sampler.json")));
      torch_rng_state_restore(checkpoint->read_rank_file("torch_rng.bin"));
      step = checkpoint->step();
      if (root) spdlog::info("resuming from {} (step {})", checkpoint->folder().string(), step);
    }
  }
  GradReducerOptions reducer_options;
  reducer_options.broadcast_initial = step == 0;
  reducer_options.overlap = comm_overlap_backward(cfg);
  std::unique_ptr<GradReducer> reducer;  // one rank has nothing to average
  if (comm.size() > 1) reducer = std::make_unique<GradReducer>(bundle.net->parameters(), comm, reducer_options);
  TrainLog log(stage.run_dir / "logs" / "train-classifier.jsonl", root, step > 0 ? step : -1);

  Progress progress("train-classifier", steps, root);
  progress.advance(step);
  auto t0 = std::chrono::steady_clock::now();
  int64_t t0_step = step;
  bundle.net->train();
  while (step < steps) {
    if (sampler.epoch_done()) sampler.next_epoch();
    SamplerBatch b = sampler.next();
    const std::vector<int64_t> rows = row_split_take(train_rows, b.indices);
    auto z = bundle.normalise(store_read_tensor(store, "latents", rows));
    auto y = store_read_tensor(store, "labels", rows);
    optimizer.zero_grad();
    auto logits = bundle.net->forward(z);
    y = y.nan_to_num(0.0);
    // Ignored attributes are taken out before the mean (not weighted 0 inside a mean over all A), so the loss is the
    // mean over the trained ones and an ignored head's gradient is exactly zero (with no weight decay it keeps its
    // initial weights). Without ignored attributes the loss is computed as it always was.
    auto loss = ignoring ? torch::binary_cross_entropy_with_logits(logits.index_select(1, trained_index),
                                                                   y.index_select(1, trained_index))
                         : torch::binary_cross_entropy_with_logits(logits, y);
    loss.backward();
    if (reducer) reducer->finish();
    optimizer.step();
    ++step;
    progress.advance();
    if (step % cfg.get_int("train.log_every") == 0 || step == steps) {
      auto l = loss.detach().clone();
      comm_allreduce(comm, l, ReduceOp::mean);
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      log.write(fmt::format(R"({{"step": {}, "loss": {:.6g}, "samples_per_s": {:.1f}}})", step, l.item<double>(),
                            (step - t0_step) * batch * comm.size() / std::max(secs, 1e-9)));
    }
    // Preemption: the ranks agree on the stop flag by a collective at every step (pipeline/train.cpp says why).
    const bool signalled = comm_allreduce_int64(comm, stop_requested() ? 1 : 0, ReduceOp::max) != 0;
    if (step % cfg.get_int("train.checkpoint_every") == 0 || step == steps || signalled) {
      CheckpointWriter writer(comm, ckpt_dir, step, int(cfg.get_int("train.keep_last")));
      if (root) {
        writer.write_shared_file("model.pt", torch_to_bytes(bundle.net));
        writer.write_shared_file("optimizer.pt", torch_to_bytes(optimizer));
      }
      writer.write_rank_file("sampler.json", sampler.state_to_json());
      writer.write_rank_file("torch_rng.bin", torch_rng_state_save());
      writer.commit(cfg.to_ini(), fmt::format(R"({{"stage": "train-classifier", "epoch": {}}})", sampler.state().epoch));
    }
    if (signalled && step < steps)
      throw TransientError(fmt::format("stopped by {} after step {}; checkpoint saved in {}; rerun the same command "
                                       "to resume", stop_reason(), step, ckpt_dir.string()));
  }
  progress.finish();

  // Held-out accuracy: each rank scores a slice of the validation rows; counts are summed over ranks.
  bundle.net->eval();
  torch::NoGradGuard no_grad;
  const int64_t n_val = int64_t(split.heldout.size());
  auto correct = torch::zeros({A}, torch::kDouble), known = torch::zeros({A}, torch::kDouble);
  int64_t begin = n_val * comm.rank() / comm.size(), end = n_val * (comm.rank() + 1) / comm.size();
  for (int64_t r = begin; r < end; r += 1024) {
    std::vector<int64_t> rows(split.heldout.begin() + r, split.heldout.begin() + std::min(end, r + 1024));
    auto pred = bundle.net->forward(bundle.normalise(store_read_tensor(store, "latents", rows))) > 0;
    auto y = store_read_tensor(store, "labels", rows);
    auto valid = ~torch::isnan(y);
    correct += ((pred == (y > 0.5)) & valid).sum(0).to(torch::kDouble);
    known += valid.sum(0).to(torch::kDouble);
  }
  comm_allreduce(comm, correct, ReduceOp::sum);
  comm_allreduce(comm, known, ReduceOp::sum);
  if (root) {
    auto acc = correct / known.clamp_min(1);
    // The mean is over the trained attributes: an ignored head is noise and would only dilute it.
    const double mean_acc = acc.index_select(0, trained_index).mean().item<double>();
    nlohmann::json j;
    j["validation_rows"] = n_val;
    j["training_rows"] = {{"fraction", {rows_from, rows_to}}, {"count", n_train}, {"of", n_split}};
    j["mean_accuracy"] = mean_acc;
    j["mean_over"] = "trained attributes";
    j["trained_attributes"] = int64_t(trained_list.size());
    j["ignored_attributes"] = ignored_names;
    for (int64_t a = 0; a < A; ++a) j["accuracy"][bundle.attribute_names[a]] = acc[a].item<double>();
    file_ensure_writable_dir(out.parent_path().empty() ? fs::path(".") : out.parent_path());
    classifier_save(bundle, out);
    file_write_atomic(out.parent_path() / "classifier_metrics.json", j.dump(2) + "\n");
    spdlog::info("classifier: mean held-out accuracy {:.4f} over {} trained attributes ({} rows){}; trained on {} "
                 "rows ({} of the training split); saved {}", mean_acc, trained_list.size(), n_val,
                 ignored_names.empty() ? std::string()
                                       : fmt::format(", ignored {} (untrained heads)", fmt::join(ignored_names, ", ")),
                 n_train, cfg.get_text("classifier.rows"), out.string());
  }
  comm.barrier();
  return 0;
}

}  // namespace s3e
