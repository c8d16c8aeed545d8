#include "editor/latent_classifier.h"

#include <fmt/format.h>

#include "core/errors.h"
#include "core/file_util.h"

namespace fs = std::filesystem;

namespace s3e {

LatentClassifierImpl::LatentClassifierImpl(int64_t latent_dim, int64_t num_attributes, int64_t hidden1, int64_t hidden2)
    : latent_dim_(latent_dim), num_attributes_(num_attributes) {
  fc1 = register_module("fc1", torch::nn::Linear(latent_dim, hidden1));
  fc2 = register_module("fc2", torch::nn::Linear(hidden1, hidden2));
  fc3 = register_module("fc3", torch::nn::Linear(hidden2, num_attributes));
}

torch::Tensor LatentClassifierImpl::forward(const torch::Tensor& z) {
  auto h = torch::leaky_relu(fc1->forward(z), 0.2);
  h = torch::leaky_relu(fc2->forward(h), 0.2);
  return fc3->forward(h);
}

void classifier_save(const ClassifierBundle& b, const fs::path& path) {
  torch::serialize::OutputArchive archive;
  b.net->save(archive);
  archive.write("s3e_schema", torch::tensor({1}));
  archive.write("norm_mean", b.mean);
  archive.write("norm_std", b.std);
  archive.write("shape", torch::tensor({b.net->latent_dim(), b.net->num_attributes()}));
  std::string names;
  for (auto& n : b.attribute_names) names += n + "\n";
  archive.write("attribute_names", torch::from_blob(names.data(), {int64_t(names.size())}, torch::kUInt8).clone());
  // Always written (all ones when every head trained), so a reader never has to guess from an absent entry.
  auto trained = torch::ones({b.net->num_attributes()}, torch::kUInt8);
  for (size_t a = 0; a < b.trained_attributes.size(); ++a) trained[int64_t(a)] = b.trained_attributes[a] ? 1 : 0;
  archive.write("trained_attributes", trained);
  fs::path tmp = file_temp_path(path);
  archive.save_to(tmp.string());
  file_commit(tmp, path);
}

ClassifierBundle classifier_load(const fs::path& path) {
  if (!fs::exists(path)) throw DataError(fmt::format("{}: classifier file not found (run train-classifier first)", path.string()));
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string());
  } catch (const c10::Error& e) {
    throw DataError(fmt::format("{}: not a classifier file: {}", path.string(), e.what_without_backtrace()));
  }
  ClassifierBundle b;
  torch::Tensor schema, shape, names;
  if (!archive.try_read("s3e_schema", schema) || !archive.try_read("shape", shape) ||
      !archive.try_read("norm_mean", b.mean) || !archive.try_read("norm_std", b.std) ||
      !archive.try_read("attribute_names", names))
    throw DataError(fmt::format("{}: not an s3editor latent classifier (missing entries)", path.string()));
  b.net = LatentClassifier(shape[0].item<int64_t>(), shape[1].item<int64_t>());
  try {
    b.net->load(archive);
  } catch (const c10::Error& e) {
    throw DataError(fmt::format("{}: classifier weights do not match: {}", path.string(), e.what_without_backtrace()));
  }
  std::string text(reinterpret_cast<const char*>(names.data_ptr<uint8_t>()), names.numel());
  for (size_t pos = 0, next; (next = text.find('\n', pos)) != std::string::npos; pos = next + 1)
    b.attribute_names.push_back(text.substr(pos, next - pos));
  // Files saved before the mask existed trained every attribute.
  b.trained_attributes.assign(size_t(b.net->num_attributes()), true);
  torch::Tensor trained;
  if (archive.try_read("trained_attributes", trained)) {
    if (trained.numel() != b.net->num_attributes())
      throw DataError(fmt::format("{}: trained_attributes has {} entries for {} attributes", path.string(),
                                  trained.numel(), b.net->num_attributes()));
    trained = trained.to(torch::kUInt8).contiguous();
    for (int64_t a = 0; a < trained.numel(); ++a) b.trained_attributes[size_t(a)] = trained.data_ptr<uint8_t>()[a] != 0;
  }
  b.net->eval();
  for (auto& p : b.net->parameters()) p.set_requires_grad(false);
  return b;
}

}  // namespace s3e
