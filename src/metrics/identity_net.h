// identity_net.h — the face descriptor `s3editor eval` compares identities with: face-api's FaceRecognitionNet by
// default (128-D, on face-api's own crop, centred on the shipped population mean: face_identity.h says why), or a
// user TorchScript net (for example an exported ArcFace) given by path. A user net gets the FFHQ-aligned crop of
// the face (face_align.h) as float RGB in [0, 1], shape [N, 3, size, size], and returns [N, D] descriptors; its
// similarities are centred on `mean_file` when one is given ({"mean": [D numbers]}), raw cosine otherwise.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "face/face_types.h"

namespace s3e {

class IdentityNet {
 public:
  virtual ~IdentityNet() = default;
  // What the descriptors come from ("face-api FaceRecognitionNet" or the TorchScript file).
  virtual std::string name() const = 0;
  // Descriptors [faces.size() * dim()] of the faces of `frame` (each with its landmarks and landmark crop).
  virtual std::vector<float> describe(ImageView frame, const std::vector<FaceRecord>& faces) const = 0;
  // Descriptor length, known after the first describe() of a user net (0 before).
  virtual int64_t dim() const = 0;
  // The population mean the similarities are centred on (empty: raw cosine).
  const std::vector<float>& mean() const { return mean_; }

 protected:
  std::vector<float> mean_;
};

struct IdentityNetOptions {
  std::string torchscript;   // "" = face-api's descriptor
  int crop_size = 112;       // user net input side
  std::string mean_file;     // user net: population mean JSON ("" = none)
  std::string device = "cpu";
};

// face-api's net reuses the descriptors the cascade already computed (FaceRecord::descriptor) when they are set.
std::unique_ptr<IdentityNet> identity_net_open(const IdentityNetOptions& options);

}  // namespace s3e
