// celeba_attributes.h — the 40 CelebA attribute names in their standard order: the label columns of Latent
// Transformer's .npy files, and the names the synthetic world uses when it has 40 attributes.
#pragma once
#include <string>
#include <vector>

namespace s3e {

const std::vector<std::string>& celeba_attribute_names();

}  // namespace s3e
