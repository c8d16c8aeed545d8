// latent_classifier.h — Latent Transformer's latent classifier (LCNet): Linear(D, 2048), LeakyReLU 0.2,
// Linear(2048, 512), LeakyReLU 0.2, Linear(512, A), on normalised latents z = (x - mean) / std. Trained with BCE
// (Adam 1e-4, weight decay 5e-4) by `train-classifier`; frozen while editors train. Saved as one TorchScript-free
// file (torch::save archive) holding the weights, the normalisation, the attribute names and which attributes the
// loss trained (train-classifier's classifier.ignore_attributes leaves some heads untrained).
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

namespace s3e {

class LatentClassifierImpl : public torch::nn::Module {
 public:
  LatentClassifierImpl(int64_t latent_dim, int64_t num_attributes, int64_t hidden1 = 2048, int64_t hidden2 = 512);
  torch::Tensor forward(const torch::Tensor& z);  // [B, D] normalised latents -> [B, A] logits
  int64_t latent_dim() const { return latent_dim_; }
  int64_t num_attributes() const { return num_attributes_; }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};

 private:
  int64_t latent_dim_, num_attributes_;
};
TORCH_MODULE(LatentClassifier);

// A trained classifier with what is needed to use it.
struct ClassifierBundle {
  mutable LatentClassifier net{nullptr};  // forward is logically const (frozen weights)
  torch::Tensor mean, std;  // [D] normalisation of the training latents
  std::vector<std::string> attribute_names;
  // [A] true = the loss trained attribute a's head; an ignored attribute's head is its random initialisation, noise.
  // Empty = every attribute (a bundle made by hand); files saved before the mask existed load as all trained.
  std::vector<bool> trained_attributes;
  bool trains(int64_t a) const { return trained_attributes.empty() || trained_attributes[size_t(a)]; }
  torch::Tensor normalise(const torch::Tensor& x) const { return (x - mean) / std; }
  torch::Tensor denormalise(const torch::Tensor& z) const { return z * std + mean; }
};

void classifier_save(const ClassifierBundle& bundle, const std::filesystem::path& path);
// Throws DataError naming the file when it is missing, not a classifier, or of another shape.
ClassifierBundle classifier_load(const std::filesystem::path& path);

}  // namespace s3e
