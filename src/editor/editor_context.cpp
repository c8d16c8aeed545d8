#include "editor/editor_context.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "core/errors.h"
#include "store/latent_store.h"
#include "store/row_file_writer.h"

namespace fs = std::filesystem;

namespace s3e {

namespace {
std::vector<float> to_vector(const torch::Tensor& t) {
  auto c = t.contiguous().to(torch::kFloat);
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}
torch::Tensor load_rows(const LatentStore& store, const std::string& column, const std::vector<int64_t>& rows,
                        int64_t width) {
  auto t = torch::empty({int64_t(rows.size()), width});
  store.read_rows_f32(column, rows, t.data_ptr<float>());
  return t;
}
}  // namespace

torch::Tensor cluster_feature(const torch::Tensor& embeddings, const std::string& kind) {
  if (kind == "direction") return embeddings;
  auto sq = embeddings * embeddings;
  return sq / sq.sum(1, true).clamp_min(1e-12);
}

torch::Tensor routing_weights(const KMeansResult& clusters, const torch::Tensor& feature, const std::string& routing,
                              double temperature) {
  auto f = feature.contiguous().to(torch::kFloat);
  auto c = torch::from_blob(const_cast<float*>(clusters.centroids.data()), {clusters.k, clusters.dim}).clone();
  auto cos = torch::mv(c, f / f.norm().clamp_min(1e-12));
  if (routing == "soft") return torch::softmax(-(1 - cos) / temperature, 0);
  return torch::one_hot(cos.argmax(), clusters.k).to(torch::kFloat);
}

torch::Tensor identity_probe(const EditorContext& ctx, const torch::Tensor& z) {
  return z - torch::mm(torch::mm(z, ctx.identity_basis.t()), ctx.identity_basis);
}

EditorContext editor_context_build(const ClassifierBundle& classifier, const LatentStore& store,
                                   const std::vector<int64_t>& rows, const EditorOptions& o, uint64_t seed,
                                   const ClassifierBundle* second) {
  EditorContext ctx;
  ctx.latent_shape = store.latent_shape();
  ctx.attribute_names = store.attribute_names();
  ctx.norm_mean = classifier.mean.clone();
  ctx.norm_std = classifier.std.clone();
  const int64_t A = store.num_attributes(), D = store.latent_dim();
  const int64_t layers = ctx.latent_shape.size() == 1 ? 1 : ctx.latent_shape[0];
  const int64_t channels = D / layers;
  ctx.edit_layers = o.edit_layers.empty() ? std::vector<int>{0} : o.edit_layers;
  // The default (Latent Transformer's W+ layers 0-10) on a latent with fewer layers (a flat landmark latent): the
  // layers it has. An explicit choice outside the latent is still an error below.
  if (o.edit_layers_default) {
    ctx.edit_layers.erase(std::remove_if(ctx.edit_layers.begin(), ctx.edit_layers.end(), [&](int l) { return l >= layers; }),
                          ctx.edit_layers.end());
    if (ctx.edit_layers.empty()) ctx.edit_layers = {0};
  }
  std::vector<int64_t> index;
  for (int l : ctx.edit_layers) {
    if (l < 0 || l >= layers)
      throw UsageError(fmt::format("config key editor.edit_layers: layer {} is outside 0..{}", l, layers - 1));
    for (int64_t c = 0; c < channels; ++c) index.push_back(l * channels + c);
  }
  ctx.edit_index = torch::tensor(index, torch::kLong);
  std::vector<bool> heldout(A, false);
  for (int a : o.heldout_attributes) {
    if (a < 0 || a >= A)
      throw UsageError(fmt::format("config key editor.heldout_attributes: {} is outside 0..{}", a, A - 1));
    heldout[a] = true;
  }
  for (int a = 0; a < A; ++a) (heldout[a] ? ctx.heldout_attributes : ctx.train_attributes).push_back(a);
  if (ctx.train_attributes.empty()) throw UsageError("editor.heldout_attributes holds out every attribute");

  // Which embeddings come from the second classifier, and whether each attribute has a trained head to come from.
  const std::string second_file = o.embedding_classifier.empty() ? std::string("the embedding classifier")
                                                                 : o.embedding_classifier;
  std::vector<bool> from_second(A, false);
  for (int a : o.embedding_attributes) {
    if (a < 0 || a >= A)
      throw UsageError(fmt::format("config key editor.embedding_attributes: {} is outside 0..{}", a, A - 1));
    from_second[a] = true;
  }
  if (!o.embedding_attributes.empty() && !second)
    throw UsageError("config key editor.embedding_attributes names attributes but no embedding classifier was given "
                     "(editor.embedding_classifier)");
  if (second && !o.embedding_attributes.empty()) {
    if (second->net->latent_dim() != D || second->net->num_attributes() != A)
      throw DataError(fmt::format("{} (editor.embedding_classifier): classifier is for {} dims x {} attributes but the "
                                  "store has {} x {}", second_file, second->net->latent_dim(),
                                  second->net->num_attributes(), D, A));
    if (!second->attribute_names.empty() && second->attribute_names != ctx.attribute_names)
      throw DataError(fmt::format("{} (editor.embedding_classifier): its attribute names differ from the store's (an "
                                  "embedding is taken by attribute index)", second_file));
    for (int a : o.embedding_attributes)
      if (!second->trains(a))
        throw UsageError(fmt::format("config key editor.embedding_attributes: attribute {} ({}) was not trained by {} "
                                     "(editor.embedding_classifier; its classifier.ignore_attributes): its head there "
                                     "is noise too", a, ctx.attribute_names[size_t(a)], second_file));
  }
  ctx.classifier_trained.assign(size_t(A), 1);
  for (int a = 0; a < A; ++a) {
    if (classifier.trains(a)) continue;
    ctx.classifier_trained[size_t(a)] = 0;
    // The editor's faith loss and its supervised flips read the classifier's logit of a training attribute.
    if (!heldout[a])
      throw UsageError(fmt::format("attribute {} ({}) was not trained by the classifier (its classifier.ignore_"
                                   "attributes) but is not in editor.heldout_attributes: the editor cannot train an "
                                   "attribute its classifier does not know", a, ctx.attribute_names[size_t(a)]));
    // Its gradient in the classifier would be that of an untrained head: a random direction, not the attribute.
    if (!from_second[a])
      throw UsageError(fmt::format("attribute {} ({}) was not trained by the classifier (its classifier.ignore_"
                                   "attributes) and gets no embedding from a second classifier: name it in "
                                   "editor.embedding_attributes with an editor.embedding_classifier that trained it "
                                   "(its embedding from this classifier's untrained head would be noise)",
                                   a, ctx.attribute_names[size_t(a)]));
  }

  // Embeddings: normalised mean gradient of each logit w.r.t. the (normalised) editable dims.
  std::vector<int64_t> sample(rows.begin(), rows.begin() + std::min<int64_t>(rows.size(), o.embedding_samples));
  auto x = load_rows(store, "latents", sample, D);
  auto z = classifier.normalise(x).requires_grad_(true);
  auto logits = classifier.net->forward(z);
  // The second classifier has a normalisation of its own (its own rows' statistics): differentiate its logit w.r.t.
  // the raw latent x and map into this classifier's normalised space, where the editor works. With x = z * std +
  // mean, d C2_a / d z = d C2_a / d x * std (per dim); for the same classifier this is exactly d C_a / d z.
  torch::Tensor x2, logits2;
  if (second && !o.embedding_attributes.empty()) {
    x2 = x.clone().requires_grad_(true);
    logits2 = second->net->forward(second->normalise(x2));
    ctx.embedding_attributes = o.embedding_attributes;
    std::sort(ctx.embedding_attributes.begin(), ctx.embedding_attributes.end());
    ctx.embedding_attributes.erase(std::unique(ctx.embedding_attributes.begin(), ctx.embedding_attributes.end()),
                                   ctx.embedding_attributes.end());
  }
  ctx.embeddings = torch::empty({A, int64_t(index.size())});
  for (int a = 0; a < A; ++a) {
    torch::Tensor grad;
    if (from_second[a])
      grad = torch::autograd::grad({logits2.select(1, a).sum()}, {x2}, {}, /*retain_graph=*/true)[0] * classifier.std;
    else
      grad = torch::autograd::grad({logits.select(1, a).sum()}, {z}, {}, /*retain_graph=*/true)[0];
    auto e = grad.index_select(1, ctx.edit_index).mean(0);
    ctx.embeddings[a] = e / e.norm().clamp_min(1e-12);
  }
  ctx.embeddings = ctx.embeddings.detach();

  // Clusters over the training attributes; every attribute (held-out too) is routed by its feature.
  const int k = o.clusters == 0 ? int(ctx.train_attributes.size())
                                : std::min<int>(o.clusters, int(ctx.train_attributes.size()));
  auto train_idx = torch::tensor(std::vector<int64_t>(ctx.train_attributes.begin(), ctx.train_attributes.end()));
  auto features = cluster_feature(ctx.embeddings, o.cluster_feature);
  auto train_features = to_vector(features.index_select(0, train_idx));
  if (o.clusters == 0) {
    // One expert per training attribute (Latent Transformer's K = A): each attribute is its own centroid.
    ctx.clusters.k = k;
    ctx.clusters.dim = int(features.size(1));
    auto normed = features.index_select(0, train_idx);
    normed = normed / normed.norm(2, 1, true).clamp_min(1e-12);
    ctx.clusters.centroids = to_vector(normed);
    ctx.clusters.assignment.resize(k);
    std::iota(ctx.clusters.assignment.begin(), ctx.clusters.assignment.end(), 0);
  } else {
    ctx.clusters = kmeans_cosine(train_features, int(ctx.train_attributes.size()), int(features.size(1)), k, seed);
  }
  ctx.routing = torch::zeros({A, k});
  ctx.expert_of_attribute.assign(A, 0);
  for (int a = 0; a < A; ++a) {
    ctx.routing[a] = routing_weights(ctx.clusters, features[a], o.routing, o.soft_temperature);
    ctx.expert_of_attribute[a] = int(ctx.routing[a].argmax().item<int64_t>());
  }
  // A training attribute routes to its own cluster under hard routing (K-means assignment = nearest centroid).
  if (o.clusters == 0 && o.routing == "hard")
    for (size_t i = 0; i < ctx.train_attributes.size(); ++i) {
      int a = ctx.train_attributes[i];
      ctx.routing[a] = torch::one_hot(torch::tensor(int64_t(i)), k).to(torch::kFloat);
      ctx.expert_of_attribute[a] = int(i);
    }

  // Region map: the backbone's when it has one, else derived from the training attributes' embedding energy. The
  // regions are not the clusters: R is the map's, and each expert's neurons are split into R region blocks.
  std::vector<int> expert_of_training(A, -1);
  for (int a : ctx.train_attributes) expert_of_training[a] = ctx.expert_of_attribute[a];
  if (store.has_column("backbone/region_of_dim")) {
    // The backbone knows which facial region each dim is (the landmark backbone exactly): no need to guess it.
    auto all = store.read_array_i32("backbone/region_of_dim");
    if (int64_t(all.size()) != D)
      throw DataError(fmt::format("{}: backbone/region_of_dim has {} entries for {} latent dims", store.path().string(),
                                  all.size(), D));
    std::vector<int32_t> editable;
    for (int64_t d : index) editable.push_back(all[size_t(d)]);
    const auto names = store.read_strings("backbone/region_names");
    for (int32_t r : editable)
      if (r >= int32_t(names.size()))
        throw DataError(fmt::format("{}: backbone/region_of_dim names region {} of {}", store.path().string(), r,
                                    names.size()));
    std::vector<int32_t> declared(size_t(A) * names.size(), 0);
    if (store.has_column("backbone/attribute_regions")) {
      auto t = store.read_array_i32("backbone/attribute_regions");
      if (t.size() == declared.size()) declared = t;
    }
    ctx.regions = region_map_from_backbone(editable, names, declared, int(A));
  } else {
    // Groups of training attributes by energy profile: the routing clusters, or (editor.regions = R) a K-means of
    // their own, so that R does not follow K (K = A would otherwise give A + 1 regions of a few dims each).
    std::vector<int> group_of_train(ctx.train_attributes.size());
    int groups = k;
    if (o.regions > 0) {
      groups = std::min<int>(o.regions, int(ctx.train_attributes.size()));
      auto energy = to_vector(cluster_feature(ctx.embeddings, "energy").index_select(0, train_idx));
      group_of_train = kmeans_cosine(energy, int(ctx.train_attributes.size()), int(index.size()), groups,
                                     seed ^ 0x5265676eULL).assignment;
    } else {
      for (size_t i = 0; i < ctx.train_attributes.size(); ++i) group_of_train[i] = ctx.expert_of_attribute[ctx.train_attributes[i]];
    }
    ctx.regions = region_map_from_embeddings(to_vector(ctx.embeddings.index_select(0, train_idx)),
                                             int(ctx.train_attributes.size()), int(index.size()), group_of_train, groups,
                                             o.region_dominance);
  }
  // Target regions, measured for every source: where each attribute's embedding has its energy.
  region_map_set_targets(ctx.regions, to_vector(ctx.embeddings), int(A), expert_of_training, k, o.target_energy);

  // Label correlation over the sample (L_reg's mask is 1 - |corr|).
  auto labels = load_rows(store, "labels", sample, A);
  auto centred = labels - labels.mean(0, true);
  auto cov = torch::mm(centred.t(), centred);
  auto sd = cov.diagonal().clamp_min(1e-12).sqrt();
  ctx.label_correlation = (cov / torch::outer(sd, sd)).clamp(-1, 1);

  // Identity basis: orthonormalised embeddings (QR), so the probe removes every attribute direction.
  ctx.identity_basis = std::get<0>(torch::linalg_qr(ctx.embeddings.t())).t().contiguous();

  // Linear edit scale: one unit of strength moves 2 standard deviations of the projection on e_a (mean over a).
  auto ze = z.detach().index_select(1, ctx.edit_index);
  auto proj = torch::mm(ze, ctx.embeddings.t());  // [n, A]
  // editor.linear_scale may replace it (sqrt_dim: DESIGN.md's sqrt(D), a unit direction as large as the latent).
  ctx.linear_scale = editor_linear_scale_resolve(o.linear_scale, 2.0 * proj.std(0).mean().item<double>(),
                                                 ctx.edit_dim());
  return ctx;
}

void editor_context_save(const EditorContext& ctx, const fs::path& path, const std::string& config_ini,
                         const std::function<void(RowFileWriter&)>& extra) {
  RowFileWriter w(path, "s3editor.editor", 1, {});
  w.set_attr_int64s("latent_shape", ctx.latent_shape);
  w.set_attr_string("config_ini", config_ini);
  w.set_attr_string("region_source", ctx.regions.source);
  w.set_attr_string("linear_scale", fmt::format("{:.17g}", ctx.linear_scale));
  w.write_strings("attribute_names", ctx.attribute_names);
  auto ints = [](const std::vector<int>& v) { return std::vector<int32_t>(v.begin(), v.end()); };
  auto ta = ints(ctx.train_attributes), ha = ints(ctx.heldout_attributes), el = ints(ctx.edit_layers);
  auto ex = ints(ctx.expert_of_attribute), as = ints(ctx.clusters.assignment);
  std::vector<int32_t> ei(ctx.edit_index.data_ptr<int64_t>(), ctx.edit_index.data_ptr<int64_t>() + ctx.edit_index.numel());
  w.write_array_i32("train_attributes", {int64_t(ta.size())}, ta.data());
  w.write_array_i32("heldout_attributes", {int64_t(ha.size())}, ha.data());
  w.write_array_i32("edit_layers", {int64_t(el.size())}, el.data());
  w.write_array_i32("edit_index", {int64_t(ei.size())}, ei.data());
  w.write_array_i32("clusters/expert_of_attribute", {int64_t(ex.size())}, ex.data());
  w.write_array_i32("clusters/assignment", {int64_t(as.size())}, as.data());
  w.write_array_f32("clusters/centroids", {ctx.clusters.k, ctx.clusters.dim}, ctx.clusters.centroids.data());
  auto f32 = [&](const std::string& name, const torch::Tensor& t) {
    auto c = t.contiguous().to(torch::kFloat);
    w.write_array_f32(name, std::vector<int64_t>(c.sizes().begin(), c.sizes().end()), c.data_ptr<float>());
  };
  f32("clusters/routing", ctx.routing);
  f32("embeddings", ctx.embeddings);
  f32("label_correlation", ctx.label_correlation);
  f32("identity_basis", ctx.identity_basis);
  if (ctx.norm_mean.defined()) {
    f32("normalisation/mean", ctx.norm_mean);
    f32("normalisation/std", ctx.norm_std);
  }
  w.set_attr_string("classifier_sha256", ctx.classifier_sha256);
  w.set_attr_string("classifier_path", ctx.classifier_path);
  // Which heads of the classifier are data (L_reg reads only those) and which embeddings a second classifier gave.
  std::vector<int32_t> trained(ctx.attribute_names.size(), 1);
  for (size_t a = 0; a < ctx.classifier_trained.size() && a < trained.size(); ++a) trained[a] = ctx.classifier_trained[a];
  w.write_array_i32("classifier_trained", {int64_t(trained.size())}, trained.data());
  auto ea = ints(ctx.embedding_attributes);
  w.write_array_i32("embedding_attributes", {int64_t(ea.size())}, ea.data());
  w.set_attr_string("embedding_classifier_sha256", ctx.embedding_classifier_sha256);
  w.set_attr_string("embedding_classifier_path", ctx.embedding_classifier_path);
  w.write_array_i32("regions/region_of_dim", {int64_t(ctx.regions.region_of_dim.size())}, ctx.regions.region_of_dim.data());
  w.set_attr_int64s("num_regions", {ctx.regions.num_regions});
  if (!ctx.regions.expert_targets.empty())
    w.write_array_i32("regions/expert_targets", {ctx.clusters.k, ctx.regions.num_regions}, ctx.regions.expert_targets.data());
  const int64_t A = int64_t(ctx.attribute_names.size());
  if (!ctx.regions.attribute_targets.empty()) {
    w.write_array_i32("regions/attribute_targets", {A, ctx.regions.num_regions}, ctx.regions.attribute_targets.data());
    w.set_attr_string("target_energy", fmt::format("{:.17g}", ctx.regions.target_energy));
  }
  if (!ctx.regions.declared_targets.empty())
    w.write_array_i32("regions/declared_targets", {A, ctx.regions.num_regions}, ctx.regions.declared_targets.data());
  if (extra) extra(w);
  w.finalize();
}

EditorContext editor_context_load(const fs::path& path) {
  LatentStore f(path, "s3editor.editor");
  EditorContext ctx;
  ctx.latent_shape = f.latent_shape();
  ctx.attribute_names = f.read_strings("attribute_names");
  auto ints = [&](const std::string& name) {
    auto v = f.read_array_i32(name);
    return std::vector<int>(v.begin(), v.end());
  };
  auto tensor = [&](const std::string& name) {
    auto v = f.read_array_f32(name);
    auto shape = f.column_shape(name);
    return torch::from_blob(v.data(), shape).clone();
  };
  ctx.train_attributes = ints("train_attributes");
  ctx.heldout_attributes = ints("heldout_attributes");
  ctx.edit_layers = ints("edit_layers");
  auto ei = ints("edit_index");
  ctx.edit_index = torch::tensor(std::vector<int64_t>(ei.begin(), ei.end()), torch::kLong);
  ctx.expert_of_attribute = ints("clusters/expert_of_attribute");
  ctx.clusters.assignment = ints("clusters/assignment");
  auto centroids = f.column_shape("clusters/centroids");
  ctx.clusters.k = int(centroids[0]);
  ctx.clusters.dim = int(centroids[1]);
  ctx.clusters.centroids = f.read_array_f32("clusters/centroids");
  ctx.routing = tensor("clusters/routing");
  ctx.embeddings = tensor("embeddings");
  ctx.label_correlation = tensor("label_correlation");
  ctx.identity_basis = tensor("identity_basis");
  auto regions = f.read_array_i32("regions/region_of_dim");
  ctx.regions.region_of_dim.assign(regions.begin(), regions.end());
  ctx.regions.num_regions = int(h5_attr_read_int64s(f.file(), "num_regions", path.string())[0]);
  ctx.regions.source = f.attribute_text("region_source");
  if (f.has_column("regions/expert_targets")) {
    auto t = f.read_array_i32("regions/expert_targets");
    ctx.regions.expert_targets.assign(t.begin(), t.end());
  }
  if (f.has_column("regions/attribute_targets")) {
    auto t = f.read_array_i32("regions/attribute_targets");
    ctx.regions.attribute_targets.assign(t.begin(), t.end());
    ctx.regions.target_energy = std::stod(f.attribute_text("target_energy"));
  }
  if (f.has_column("regions/declared_targets")) {
    auto t = f.read_array_i32("regions/declared_targets");
    ctx.regions.declared_targets.assign(t.begin(), t.end());
  }
  ctx.linear_scale = std::stod(f.attribute_text("linear_scale"));
  if (f.has_column("normalisation/mean")) {
    ctx.norm_mean = tensor("normalisation/mean");
    ctx.norm_std = tensor("normalisation/std");
  }
  ctx.classifier_sha256 = f.attribute_text("classifier_sha256");
  ctx.classifier_path = f.attribute_text("classifier_path");
  // Editors saved before these existed: a classifier that trained every attribute, no second classifier.
  ctx.classifier_trained.assign(ctx.attribute_names.size(), 1);
  if (f.has_column("classifier_trained")) {
    auto t = f.read_array_i32("classifier_trained");
    if (t.size() != ctx.attribute_names.size())
      throw DataError(fmt::format("{}: classifier_trained has {} entries for {} attributes", path.string(), t.size(),
                                  ctx.attribute_names.size()));
    for (size_t a = 0; a < t.size(); ++a) ctx.classifier_trained[a] = t[a] != 0 ? 1 : 0;
  }
  if (f.has_column("embedding_attributes")) ctx.embedding_attributes = ints("embedding_attributes");
  ctx.embedding_classifier_sha256 = f.attribute_text("embedding_classifier_sha256");
  ctx.embedding_classifier_path = f.attribute_text("embedding_classifier_path");
  ctx.config_ini = f.attribute_text("config_ini");
  return ctx;
}

}  // namespace s3e
