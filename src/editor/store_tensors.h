// store_tensors.h — latent-store rows as torch tensors for the trainers: rows of a column as a float tensor, and the
// per-dim normalisation statistics of the training rows.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace s3e {

class LatentStore;

// Rows of the store as a float tensor [n, width] (latents flattened).
torch::Tensor store_read_tensor(const LatentStore& store, const std::string& column, const std::vector<int64_t>& rows);

// Per-dim mean and std (std clamped at 1e-6) over the first `max_rows` of `rows`; identical on every rank.
std::pair<torch::Tensor, torch::Tensor> store_norm_stats(const LatentStore& store, const std::vector<int64_t>& rows,
                                                         int64_t max_rows);

}  // namespace s3e
