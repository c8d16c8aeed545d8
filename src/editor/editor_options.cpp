#include "editor/editor_options.h"

#include <cmath>
#include <stdexcept>

#include "core/errors.h"

namespace s3e {

void editor_add_config(ConfigSchema& s) {
  s.add_choice("editor.transform", "region_mlp", {"linear", "linear_masked", "linear_orthogonal", "lt_linear", "region_mlp"},
               "editing transform: linear classifier-direction edit (linear; linear_masked: kept on the attribute's "
               "target regions; linear_orthogonal: orthogonal to the other attributes' embeddings), Latent "
               "Transformer per-layer maps, or region-partitioned MLP experts (S3Editor)")
      .add_choice("editor.mask_regions", "targets", {"targets", "energy"},
                  "linear_masked: the regions the edit keeps: targets = the attribute's target regions as the "
                  "sparsifier's over-editing score defines them (measured from its embedding's energy), energy = "
                  "the fewest regions holding editor.mask_energy_share of the embedding's energy")
      .add_real("editor.mask_energy_share", 0.8, "linear_masked with editor.mask_regions = energy: the share of "
                "|e_a|^2 the kept regions must hold", 0, 1)
      .add_choice("editor.expert_mode", "refine", {"refine", "scratch"},
                  "region_mlp experts: refine the linear edit (z_lin = z + g s e_a, then z_lin + g M(z_lin, c e_a, g) "
                  "with M zero at start; the paper's T(Denorm(Norm(x) + g a))) or make the whole edit from scratch "
                  "(z + g M(z, e_a), the first build, an ablation)")
      .add_text("editor.linear_scale", "data",
                "step s of the linear edit per unit strength (linear transform, refine's z_lin, self-training's "
                "pseudo-edited inputs): data = 2 standard deviations of <z, e_a> over the training rows, sqrt_dim = "
                "sqrt(editable dims) (DESIGN.md), or a positive number")
      .add_int("editor.clusters", 5, "K attribute clusters/experts; 0 = one per training attribute (K = A)", 0, 1000)
      .add_choice("editor.cluster_feature", "energy", {"energy", "direction"},
                  "what K-means clusters: squared embedding (which dims an attribute edits) or the signed embedding")
      .add_choice("editor.routing", "hard", {"hard", "soft"}, "hard: nearest centroid; soft: softmax over distances")
      .add_real("editor.soft_temperature", 0.1, "temperature of soft routing", 1e-4, 100)
      .add_int("editor.hidden_total", 1920, "hidden neurons over all experts (capacity constant across K)", 1, 1e6)
      .add_real("editor.region_dominance", 0.5, "share of a dim's embedding energy a cluster needs to own it", 0, 1)
      .add_int("editor.regions", 0, "data-derived region map (stores without a backbone map): groups of training "
               "attributes by embedding energy, each a region, + 1 shared; 0 = the routing clusters (R = K + 1)", 0, 1000)
      .add_real("editor.target_energy", 0.8, "target regions of an attribute: the fewest regions, by decreasing "
                "energy of its embedding, holding at least this share of it (what over-editing is measured against)",
                0.01, 1)
      .add_text("editor.edit_layers", "0-10", "latent layers the editor may change (the default keeps those the latent has: 0 for flat latents)")
      .add_text("editor.heldout_attributes", "", "attribute indices never trained on (unseen edits), e.g. 32-39")
      .add_int("editor.embedding_samples", 512, "samples used to average classifier gradients into embeddings", 1, 1e7)
      .add_text("editor.embedding_classifier", "",
                "a second classifier file (e.g. trained on other rows, classifier.rows) whose gradients give the "
                "embeddings of editor.embedding_attributes: attributes the main classifier never trained "
                "(classifier.ignore_attributes), unseen by the editor and its classifier alike; empty = none")
      .add_text("editor.embedding_attributes", "",
                "attribute indices whose embedding comes from editor.embedding_classifier, e.g. 32-39 (empty = none)")
      .add_bool("self_train.enabled", true, "self-training on random pseudo-edits")
      .add_real("self_train.share", 0.5, "share of each batch that is pseudo-edits", 0, 1)
      .add_real("self_train.g_min", 0.2, "smallest |strength| of a pseudo-edit", 0, 10)
      .add_real("self_train.g_max", 1.0, "largest |strength| of a pseudo-edit", 0, 10)
      .add_real("self_train.input_edit_prob", 0.5, "probability that a pseudo-edit's input is itself pseudo-edited", 0, 1)
      .add_real("self_train.input_edit_max", 1.0, "largest |strength| of that input edit (linear edit units)", 0, 10)
      .add_real("loss.faith", 1, "weight of the class-balanced BCE towards the edit target", 0, 1e6)
      .add_real("loss.recon", 10, "weight of the latent reconstruction MSE", 0, 1e6)
      .add_real("loss.reg", 1, "weight of the attribute regularisation (masked by 1 - |label correlation|)", 0, 1e6)
      .add_real("loss.identity", 0, "weight of 1 - cos of the identity probe (latent part orthogonal to embeddings)", 0, 1e6)
      .add_real("loss.cycle", 0, "weight of the cycle loss |T(T(z, a, g), a, -g) - z|^2", 0, 1e6)
      .add_real("sparsity.rate", 0.1,
                "share of the groups (sparsity.group: neurons or blocks) pruned to exactly zero (0 = off)", 0, 0.95)
      .add_int("sparsity.start_step", 100, "first step of the first pruning period", 0, 1e9)
      .add_int("sparsity.periods", 4, "pruning periods", 1, 1000)
      .add_int("sparsity.period_steps", 50, "steps per pruning period", 1, 1e9)
      .add_choice("sparsity.group", "neuron", {"neuron", "block"},
                  "the unit pruned: neuron = one hidden neuron of an expert; block = a whole (expert, region block): "
                  "its saliency the mean of its neurons', its over-editing their pooled energy share; sparsity.rate "
                  "then counts blocks")
      .add_bool("sparsity.over_edit", true, "score groups by the measured share of their edit energy that lands "
                "outside the target regions of the attribute each row edits")
      .add_int("sparsity.over_edit_steps", 10, "steps up to each selection whose over-editing energy is summed "
               "(over ranks) into the score", 1, 1e9)
      .add_real("sparsity.magnitude", 1, "weight of the group norm in the saliency score", 0, 1e3)
      .add_real("sparsity.avg_magnitude", 0, "weight of the group norm / sqrt(size)", 0, 1e3)
      .add_real("sparsity.cosine", 0, "weight of cos(weights, -gradient)", 0, 1e3)
      .add_real("sparsity.taylor1", 1, "weight of |<weights, gradient>|", 0, 1e3)
      .add_real("sparsity.taylor2", 0, "weight of <weights, gradient>^2", 0, 1e3)
      .add_real("sparsity.over_edit_weight", 1, "weight of the over-editing criterion (subtracted)", 0, 1e3)
      .add_int("train.steps", 1000, "optimiser steps", 1, 1e9)
      .add_int("train.batch_size", 64, "samples per rank per step (global batch = this x ranks)", 1, 1e6)
      .add_int("train.global_batch_size", 0,
               "samples per step over all ranks (a multiple of the rank count; overrides train.batch_size): the "
               "same trajectory on any rank count, so a requeue on fewer ranks resumes; 0 = off", 0, 1e9)
      .add_real("train.lr", 1e-4, "Adam learning rate", 0, 10)
      .add_real("train.weight_decay", 0, "Adam weight decay; when not set: 5e-4 for editor.transform = lt_linear "
                "(Latent Transformer's), 0 for the others", 0, 10)
      .add_choice("train.schedule", "auto", {"auto", "joint", "per_attribute"},
                  "joint: every row draws the attribute it edits; per_attribute: Latent Transformer's protocol, the "
                  "steps split into one phase per training attribute, each with its own Adam over that attribute's "
                  "transform (lt_linear with editor.clusters = 0); auto: per_attribute for lt_linear, else joint")
      .add_int("train.checkpoint_every", 200, "steps between checkpoints", 1, 1e9)
      .add_int("train.keep_last", 3, "checkpoints kept", 1, 1000)
      .add_int("train.log_every", 20, "steps between log lines", 1, 1e9)
      .add_int("train.stop_after_step", 0, "stop after this step, checkpointed, with exit code 75 (as if "
               "preempted; a rerun resumes); 0 = run to the end", 0, 1e9)
      .add_real("train.validation_share", 0.1, "share of samples held out (last rows) for evaluation", 0, 0.9);
}

double editor_linear_scale_resolve(const std::string& text, double data_scale, int64_t edit_dim) {
  if (text == "data") return data_scale;
  if (text == "sqrt_dim") return std::sqrt(double(edit_dim));
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || !std::isfinite(v) || v <= 0)
    throw UsageError("config key editor.linear_scale: '" + text + "' is not data, sqrt_dim or a positive number");
  return v;
}

EditorOptions editor_options_from_config(const Config& c) {
  EditorOptions o;
  o.transform = c.get_text("editor.transform");
  o.mask_regions = c.get_text("editor.mask_regions");
  o.mask_energy_share = c.get_real("editor.mask_energy_share");
  o.expert_mode = c.get_text("editor.expert_mode");
  o.linear_scale = c.get_text("editor.linear_scale");
  editor_linear_scale_resolve(o.linear_scale, 1.0, 1);  // UsageError now rather than after loading the data
  o.clusters = static_cast<int>(c.get_int("editor.clusters"));
  o.cluster_feature = c.get_text("editor.cluster_feature");
  o.routing = c.get_text("editor.routing");
  o.soft_temperature = c.get_real("editor.soft_temperature");
  o.hidden_total = c.get_int("editor.hidden_total");
  o.region_dominance = c.get_real("editor.region_dominance");
  o.regions = static_cast<int>(c.get_int("editor.regions"));
  o.target_energy = c.get_real("editor.target_energy");
  o.edit_layers = c.get_int_list("editor.edit_layers");
  o.edit_layers_default = c.source_of("editor.edit_layers") == "default";
  o.heldout_attributes = c.get_int_list("editor.heldout_attributes");
  o.embedding_samples = c.get_int("editor.embedding_samples");
  o.embedding_classifier = c.get_text("editor.embedding_classifier");
  o.embedding_attributes = c.get_int_list("editor.embedding_attributes");
  // One without the other is a half-made choice: refused before any data is read.
  if (o.embedding_classifier.empty() && !o.embedding_attributes.empty())
    throw UsageError("config key editor.embedding_attributes names attributes but editor.embedding_classifier (the "
                     "classifier their embeddings come from) is not set");
  if (!o.embedding_classifier.empty() && o.embedding_attributes.empty())
    throw UsageError("config key editor.embedding_classifier is set but editor.embedding_attributes names no attribute "
                     "to take from it");
  o.self_training = c.get_bool("self_train.enabled");
  o.self_share = c.get_real("self_train.share");
  o.g_min = c.get_real("self_train.g_min");
  o.g_max = c.get_real("self_train.g_max");
  o.input_edit_prob = c.get_real("self_train.input_edit_prob");
  o.input_edit_max = c.get_real("self_train.input_edit_max");
  o.w_faith = c.get_real("loss.faith");
  o.w_recon = c.get_real("loss.recon");
  o.w_reg = c.get_real("loss.reg");
  o.w_identity = c.get_real("loss.identity");
  o.w_cycle = c.get_real("loss.cycle");
  o.sparsity_rate = c.get_real("sparsity.rate");
  o.sparsity_start = c.get_int("sparsity.start_step");
  o.sparsity_periods = c.get_int("sparsity.periods");
  o.sparsity_period_steps = c.get_int("sparsity.period_steps");
  o.over_edit_criterion = c.get_bool("sparsity.over_edit");
  o.sparsity_group = c.get_text("sparsity.group");
  o.over_edit_steps = c.get_int("sparsity.over_edit_steps");
  o.crit_magnitude = c.get_real("sparsity.magnitude");
  o.crit_avg_magnitude = c.get_real("sparsity.avg_magnitude");
  o.crit_cosine = c.get_real("sparsity.cosine");
  o.crit_taylor1 = c.get_real("sparsity.taylor1");
  o.crit_taylor2 = c.get_real("sparsity.taylor2");
  o.crit_over_edit = c.get_real("sparsity.over_edit_weight");
  o.steps = c.get_int("train.steps");
  o.batch_size = c.get_int("train.batch_size");
  o.global_batch_size = c.get_int("train.global_batch_size");
  o.lr = c.get_real("train.lr");
  o.weight_decay = c.get_real("train.weight_decay");
  // A per-transform default: Latent Transformer trains its maps with weight decay 5e-4; a value the user set wins.
  if (o.transform == "lt_linear" && c.source_of("train.weight_decay") == "default") o.weight_decay = 5e-4;
  const std::string schedule = c.get_text("train.schedule");
  o.per_attribute = schedule == "per_attribute" || (schedule == "auto" && o.transform == "lt_linear");
  o.checkpoint_every = c.get_int("train.checkpoint_every");
  o.keep_last = c.get_int("train.keep_last");
  o.log_every = c.get_int("train.log_every");
  o.stop_after_step = c.get_int("train.stop_after_step");
  o.validation_share = c.get_real("train.validation_share");
  return o;
}

}  // namespace s3e
