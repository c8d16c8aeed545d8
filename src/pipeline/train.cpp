// s3editor train — trains an editor (linear edit, Latent Transformer, or S3Editor and its ablations; selected by
// the [editor]/[self_train]/[loss]/[sparsity] config) data-parallel over MPI ranks on a latent store, with a frozen
// latent classifier. Each step: the sampler's rows -> edits (supervised flips + self-training pseudo-edits, chosen
// by global row position so any rank count makes the same choices) -> losses -> backward -> bucketed gradient
// allreduce -> group scoring/selection (sparsity) -> Adam -> progressive shrinking of selected groups.
// Checkpoints every train.checkpoint_every steps carry weights, optimiser, sparsifier state, editor.h5 (clusters,
// masks, history) and each rank's sampler and RNG state; a rerun resumes exactly. Writes <out>/editor.h5,
// editor_weights.pt (and editor_pruned.pt with pruned neurons removed) and logs/train.jsonl.
#include "pipeline/train.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <fmt/format.h>
#include <chrono>
#include <memory>
#include <numeric>
#include <sstream>
#include "core/errors.h"
#include "core/file_util.h"
#include "core/progress.h"
#include "core/stop_signal.h"
#include "dist/checkpoint.h"
#include "dist/comm_config.h"
#include "dist/comm_tensor.h"
#include "dist/grad_reducer.h"
#include "dist/sampler.h"
#include "dist/sha256.h"
#include "dist/torch_bytes.h"
#include "dist/torch_state.h"
#include "editor/edit_batch.h"
#include "editor/edit_losses.h"
#include "editor/editor_io.h"
#include "editor/group_sparsifier.h"
#include "editor/store_tensors.h"
#include "editor/train_log.h"
#include "store/latent_store.h"
#include "store/row_split.h"

namespace fs = std::filesystem;

namespace s3e {
namespace {

std::string sparsity_history_json(const std::vector<SparsityEvent>& h) {
  nlohmann::json j = nlohmann::json::array();
  for (auto& e : h) j.push_back({e.step, e.groups_zero, e.groups_shrinking});
  return j.dump();
}
std::vector<SparsityEvent> sparsity_history_from_json(const std::string& text) {
  std::vector<SparsityEvent> h;
  for (auto& e : nlohmann::json::parse(text)) h.push_back({e[0].get<int64_t>(), e[1].get<int64_t>(), e[2].get<int64_t>()});
  return h;
}

}  // namespace

void pipeline_train_add_config(ConfigSchema& schema) {
  editor_add_config(schema);
}

int pipeline_train_run(Communicator& comm, const TrainOptions& options) {
  const StageRun& stage = options.run;
  torch::set_num_threads(stage.threads());
  const Config& cfg = stage.config;
  const EditorOptions o = editor_options_from_config(cfg);
  const bool root = comm.rank() == 0;
  fs::path out = options.out;
  fs::path ckpt_dir = stage.run_dir / "checkpoints" / "train";

  LatentStore store(options.store);
  auto load_classifier = [&](const fs::path& path, const std::string& what) {
    ClassifierBundle c = classifier_load(path);
    if (c.net->latent_dim() != store.latent_dim() || c.net->num_attributes() != store.num_attributes())
      throw DataError(fmt::format("{}: {}is for {} dims x {} attributes but the store has {} x {}", path.string(), what,
                                  c.net->latent_dim(), c.net->num_attributes(), store.latent_dim(),
                                  store.num_attributes()));
    return c;
  };
  ClassifierBundle classifier = load_classifier(options.classifier, "classifier ");
  // The second classifier (editor.embedding_classifier) gives the embeddings of attributes the first never trained.
  std::unique_ptr<ClassifierBundle> embedding_classifier;
  if (!o.embedding_classifier.empty()) {
    if (!fs::exists(o.embedding_classifier))
      throw DataError(fmt::format("{}: classifier file not found (config key editor.embedding_classifier)",
                                  o.embedding_classifier));
    embedding_classifier = std::make_unique<ClassifierBundle>(
        load_classifier(o.embedding_classifier, "classifier of editor.embedding_classifier "));
  }
  const RowSplit split = row_split(store, o.validation_share);
  const std::vector<int64_t>& train_rows = split.train;
  const int64_t n_train = int64_t(train_rows.size());
  // A fixed global batch makes the trajectory independent of the rank count (up to summation order), which is what
  // lets a requeued job resume on fewer or more ranks than it started with.
  if (o.global_batch_size > 0 && o.global_batch_size % comm.size() != 0)
    throw UsageError(fmt::format("train.global_batch_size = {} is not a multiple of the {} ranks of this job",
                                 o.global_batch_size, comm.size()));
  const int64_t batch_per_rank = o.global_batch_size > 0 ? o.global_batch_size / comm.size() : o.batch_size;
  const int64_t global_batch = batch_per_rank * comm.size();
  if (n_train < global_batch)
    throw UsageError(fmt::format("{}: {} training rows are fewer than one global batch ({} ranks x {})",
                                 store.path().string(), n_train, comm.size(), batch_per_rank));

  // Every rank derives the same context (deterministic maths on the same rows).
  EditorContext ctx = editor_context_build(classifier, store, train_rows, o, stage.seed(), embedding_classifier.get());
  ctx.classifier_sha256 = sha256_file(options.classifier);
  ctx.classifier_path = fs::absolute(options.classifier).lexically_normal().string();
  if (embedding_classifier) {
    ctx.embedding_classifier_sha256 = sha256_file(o.embedding_classifier);
    ctx.embedding_classifier_path = fs::absolute(o.embedding_classifier).lexically_normal().string();
  }
  torch::manual_seed(stage.seed());
  EditorModel model(editor_spec_make(o, ctx));
  if (root)
    spdlog::info("editor: {} with {} expert(s), {} region(s), {} parameters, {} training / {} held-out attributes",
                 o.transform, ctx.num_experts(), ctx.regions.num_regions, editor_parameter_count(model, false),
                 ctx.train_attributes.size(), ctx.heldout_attributes.size());
  if (root && embedding_classifier)
    spdlog::info("editor: embeddings of {} attribute(s) from {} (editor.embedding_classifier)",
                 ctx.embedding_attributes.size(), o.embedding_classifier);
  const bool learns = editor_transform_learns(o.transform);  // the linear family is made from the context alone
  const int64_t steps = learns ? o.steps : 0;
  // Latent Transformer's protocol (train.schedule): phase p of the steps trains attribute p alone, with an Adam of
  // its own over that attribute's transform only (a shared Adam would keep moving the other transforms through
  // momentum and weight decay while they get no gradient). Joint training has one phase and one Adam over all.
  const int64_t phases = o.per_attribute ? int64_t(ctx.train_attributes.size()) : 1;
  if (o.per_attribute && (o.transform != "lt_linear" || ctx.num_experts() != int(ctx.train_attributes.size())))
    throw UsageError("train.schedule = per_attribute needs one transform per attribute: editor.transform = lt_linear "
                     "with editor.clusters = 0");
  if (o.per_attribute && learns && o.steps < phases)
    throw UsageError(fmt::format("train.schedule = per_attribute: train.steps = {} leaves some of the {} training "
                                 "attributes without a step", o.steps, phases));
  auto phase_of = [&](int64_t s) { return o.per_attribute ? s * phases / o.steps : 0; };
  auto phase_attribute = [&](int64_t phase) { return o.per_attribute ? ctx.train_attributes[phase] : int64_t(-1); };
  auto make_optimizer = [&](int64_t phase) {
    std::vector<torch::Tensor> params = model->parameters();
    if (o.per_attribute) {
      const int64_t k = ctx.routing[phase_attribute(phase)].argmax().item<int64_t>();
      params = {model->lt_weight[k], model->lt_bias[k]};
    }
    return std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));
  };
  int64_t optimizer_phase = 0;
  std::unique_ptr<torch::optim::Adam> optimizer = make_optimizer(optimizer_phase);
  GroupSparsifier sparsifier(model, o);
  sparsifier.set_rank_sum([&](torch::Tensor& t) { comm_allreduce(comm, t, ReduceOp::sum); });
  DistributedSampler sampler({n_train, batch_per_rank, stage.seed(), true, SamplerRemainder::drop}, comm.rank(),
                             comm.size());
  int64_t step = 0;
  if (!stage.fresh && learns) {
    const CheckpointWorld world = o.global_batch_size > 0 ? CheckpointWorld::any : CheckpointWorld::same;
    if (auto checkpoint = checkpoint_open_latest(comm, ckpt_dir, world)) {
      torch_from_bytes(model, checkpoint->read_shared_file("model.pt"));
      // The saved Adam is that of the phase of the last step done.
      step = checkpoint->step();
      optimizer_phase = phase_of(std::max<int64_t>(step - 1, 0));
      optimizer = make_optimizer(optimizer_phase);
      torch_from_bytes(*optimizer, checkpoint->read_shared_file("optimizer.pt"));
      torch::Tensor selected;
      std::istringstream in(checkpoint->read_shared_file("sparsifier_selected.pt"));
      torch::load(selected, in);
      sparsifier.restore(selected, sparsity_history_from_json(checkpoint->read_shared_file("sparsity_history.json")));
      // Sampler state counts global positions and the training loop draws no torch random numbers, so every
      // rank's state is the same: on another rank count, each rank takes the writer's rank 0 state.
      const bool same_world = checkpoint->writer_world_size() == comm.size();
      const int writer_rank = same_world ? comm.rank() : 0;
      sampler.restore(DistributedSampler::state_from_json(checkpoint->read_rank_file_of(writer_rank, "sampler.json")));
      torch_rng_state_restore(checkpoint->read_rank_file_of(writer_rank, "torch_rng.bin"));
      if (root)
        spdlog::info("resuming from {} (step {}{})", checkpoint->folder().string(), step,
                     same_world ? "" : fmt::format(", written by {} ranks, now {} x {} per rank",
                                                   checkpoint->writer_world_size(), comm.size(), batch_per_rank));
    }
  }
  // One rank has nothing to average: no buckets, no copies (measured: 92M-parameter LT steps pay for them).
  std::unique_ptr<GradReducer> reducer;
  if (learns && comm.size() > 1) {
    GradReducerOptions ro;
    ro.broadcast_initial = step == 0;
    ro.overlap = comm_overlap_backward(stage.config);
    reducer = std::make_unique<GradReducer>(model->parameters(), comm, ro);
  }
  TrainLog log(stage.run_dir / "logs" / "train.jsonl", root, step > 0 ? step : -1);
  Progress progress("train", steps, root);
  progress.advance(step);
  auto t0 = std::chrono::steady_clock::now();
  const int64_t t0_step = step;

  while (step < steps) {
    if (sampler.epoch_done()) sampler.next_epoch();
    SamplerBatch b = sampler.next();
    auto z = classifier.normalise(store_read_tensor(store, "latents", row_split_take(train_rows, b.indices)));
    if (phase_of(step) != optimizer_phase) optimizer = make_optimizer(optimizer_phase = phase_of(step));
    EditBatch edits = edit_batch_make(ctx, classifier, o, z, stage.seed(), step * global_batch + comm.rank() * batch_per_rank,
                                      phase_attribute(phase_of(step)));
    // Class balance over the global batch (every rank weights its rows the same way as one big batch would).
    int64_t positives = comm_allreduce_int64(comm, edits.target.sum().item<int64_t>(), ReduceOp::sum);
    model->zero_grad();  // every parameter: a per-attribute Adam holds only its phase's
    EditLosses l = edit_losses(model, ctx, classifier, o, edits, double(global_batch), double(positives));
    l.total.backward();
    if (reducer) reducer->finish();
    sparsifier.before_step(step, edits.z_in.index_select(1, ctx.edit_index), ctx.embeddings.index_select(0, edits.attribute),
                           ctx.routing.index_select(0, edits.attribute), edits.g);
    optimizer->step();
    sparsifier.after_step(step);
    ++step;
    progress.advance();
    if (step % o.log_every == 0 || step == steps) {
      auto parts = torch::stack({l.total, l.faith, l.recon, l.reg, l.identity, l.cycle}).detach().clone();
      comm_allreduce(comm, parts, ReduceOp::mean);
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      int64_t zero = model->spec().transform == "region_mlp" ? (model->group_mask == 0).sum().item<int64_t>() : 0;
      log.write(fmt::format(R"({{"step": {}, "loss": {:.6g}, "faith": {:.6g}, "recon": {:.6g}, "reg": {:.6g}, )"
                            R"("identity": {:.6g}, "cycle": {:.6g}, "groups_zero": {}, "groups": {}, )"
                            R"("group_sparsity": {:.4f}, "samples_per_s": {:.1f}}})",
                            step, parts[0].item<double>(), parts[1].item<double>(), parts[2].item<double>(),
                            parts[3].item<double>(), parts[4].item<double>(), parts[5].item<double>(), zero,
                            model->num_groups(), model->num_groups() ? double(zero) / model->num_groups() : 0.0,
                            (step - t0_step) * global_batch / std::max(secs, 1e-9)));
    }
    // Preemption: every rank must stop at the same step (a checkpoint is collective), so the ranks agree on the
    // flag by a collective here, once per step; a rank whose signal arrives later joins at the next step.
    const bool signalled = comm_allreduce_int64(comm, stop_requested() ? 1 : 0, ReduceOp::max) != 0;
    const bool stop_now = step == o.stop_after_step || signalled;
    if (step % o.checkpoint_every == 0 || step == steps || stop_now) {
      // Protocol: every rank writes its own state, rank 0 the shared files (identical on all ranks after the
      // allreduce); commit publishes the step atomically only after all ranks are done.
      CheckpointWriter writer(comm, ckpt_dir, step, int(o.keep_last));
      if (root) {
        writer.write_shared_file("model.pt", torch_to_bytes(model));
        writer.write_shared_file("optimizer.pt", torch_to_bytes(*optimizer));
        torch::Tensor selected = sparsifier.state().defined() ? sparsifier.state() : torch::zeros({0});
        writer.write_shared_file("sparsifier_selected.pt", torch_to_bytes(selected));
        writer.write_shared_file("sparsity_history.json", sparsity_history_json(sparsifier.history()));
        editor_save(writer.shared_path("editor"), model, ctx, sparsifier.history(), cfg.to_ini());
      }
      writer.write_rank_file("sampler.json", sampler.state_to_json());
      writer.write_rank_file("torch_rng.bin", torch_rng_state_save());
      writer.commit(cfg.to_ini(), fmt::format(R"({{"stage": "train", "epoch": {}}})", sampler.state().epoch));
    }
    if (signalled && step < steps)
      throw TransientError(fmt::format("stopped by {} after step {}; checkpoint saved in {}; rerun the same command "
                                       "to resume", stop_reason(), step, ckpt_dir.string()));
    if (stop_now && step < steps)
      throw TransientError(fmt::format("stopped after step {} as asked (train.stop_after_step); checkpoint saved in "
                                       "{}; rerun the same command to resume", step, ckpt_dir.string()));
  }
  progress.finish();
  if (root) {
    editor_save(out, model, ctx, sparsifier.history(), cfg.to_ini());
    if (sparsifier.enabled()) {
      PrunedEditor pruned = editor_prune(model);
      pruned_save(pruned, out / "editor_pruned.pt");
      spdlog::info("pruned {} of {} neuron groups ({:.1f}%): {} -> {} parameters", sparsifier.target_groups(),
                   model->num_groups(), 100.0 * sparsifier.target_groups() / model->num_groups(),
                   editor_parameter_count(model, false), pruned.parameter_count());
      spdlog::info("{}", sparsifier.report());
    }
    spdlog::info("editor saved to {}", out.string());
  }
  comm.barrier();
  return 0;
}

}  // namespace s3e
