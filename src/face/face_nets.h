// face_nets.h — LibTorch ports of the face-api nets (faceapi-port.md §4-8): NCHW, batched, on any torch device.
// Inputs are the normalised [N,3,S,S] float tensors of face_preprocess.h. Internal to src/face (includes torch);
// other modules use face_models.h.
#pragma once
#include <torch/torch.h>

#include <atomic>
#include <map>
#include <string>

#include "face/tfjs_weights.h"

namespace s3e {

// Weights of one model converted to torch layouts, on one device.
class FaceNetWeights {
 public:
  FaceNetWeights(const TfjsWeights& weights, torch::Device device) : weights_(&weights), device_(device) {}
  torch::Tensor raw(const std::string& name, const std::vector<int64_t>& tfjs_shape) const;
  torch::Tensor conv(const std::string& name, const std::vector<int64_t>& tfjs_shape) const;       // HWIO -> OIHW
  torch::Tensor depthwise(const std::string& name, int64_t channels) const;                        // [3,3,C,1] -> [C,1,3,3]
  torch::Tensor vector(const std::string& name, int64_t size) const;

 private:
  const TfjsWeights* weights_;
  torch::Device device_;
};

// A TF separable conv (depthwise 3x3 + pointwise 1x1 + bias), no activation.
struct SeparableConv {
  torch::Tensor depthwise, pointwise, bias;
  SeparableConv() = default;
  SeparableConv(const FaceNetWeights& w, const std::string& prefix, int64_t in, int64_t out);
  // TF 'same' padding (stride 2 on even sizes pads 0 before, 1 after).
  torch::Tensor forward(const torch::Tensor& x, int64_t stride) const;
};

class TinyFaceDetectorNet {
 public:
  TinyFaceDetectorNet(const TfjsWeights& weights, torch::Device device);
  torch::Tensor forward(const torch::Tensor& x) const;  // [N,3,S,S] -> [N,25,S/32,S/32]
  // Activation layout: NCHW (false) or channels_last (true); which is faster depends on the CPU (face_models.cpp
  // measures both once per process).
  std::atomic<bool> channels_last{false};
  std::atomic<bool> onednn{false};  // every convolution through oneDNN (else LibTorch's own choice per call)

 private:
  torch::Tensor conv0_w_, conv0_b_, conv8_w_, conv8_b_;
  SeparableConv convs_[5];
};

// FaceFeatureExtractor (4 dense blocks) + an fc head: FaceLandmark68Net (136, raw) and FaceExpressionNet (7, softmax).
class FaceDenseNet {
 public:
  FaceDenseNet(const TfjsWeights& weights, torch::Device device, int64_t outputs);
  torch::Tensor forward(const torch::Tensor& x) const;  // [N,3,112,112] -> [N,outputs] (fc output, no activation)
  std::atomic<bool> channels_last{false}, onednn{false};  // activation layout and kernels, as TinyFaceDetectorNet

 private:
  torch::Tensor conv0_w_, conv0_b_, fc_w_, fc_b_;
  SeparableConv blocks_[4][4];  // blocks_[b][0] unused for b = 0 (plain conv)
};

class FaceRecognitionNet {
 public:
  FaceRecognitionNet(const TfjsWeights& weights, torch::Device device);
  torch::Tensor forward(const torch::Tensor& x) const;  // [N,3,150,150] -> [N,128]
  std::atomic<bool> channels_last{false}, onednn{false};  // activation layout and kernels, as TinyFaceDetectorNet

  struct ConvLayer {
    torch::Tensor w, b, scale, shift;
  };

 private:
  std::map<std::string, ConvLayer> layers_;
  torch::Tensor fc_;
  torch::Tensor residual(const torch::Tensor& x, const std::string& p, bool down) const;
  torch::Tensor conv_layer(const torch::Tensor& x, const std::string& p, int64_t stride, bool same, bool relu) const;
};

class AgeGenderNet {
 public:
  AgeGenderNet(const TfjsWeights& weights, torch::Device device);
  // [N,3,112,112] -> age [N], gender softmax [N,2] (index 0 = male)
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x) const;

 private:
  struct Reduction {
    SeparableConv sc0, sc1;
    torch::Tensor expansion_w, expansion_b;
  };
  torch::Tensor conv_in_w_, conv_in_b_, age_w_, age_b_, gender_w_, gender_b_;
  Reduction entry0_, entry1_, exit_;
  SeparableConv middle_[2][3], exit_sep_;
  Reduction reduction(const FaceNetWeights& w, const std::string& p, int64_t in, int64_t out);
  torch::Tensor reduction_forward(const torch::Tensor& x, const Reduction& r, bool activate_input) const;
};

}  // namespace s3e
