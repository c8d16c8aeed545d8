#include "face/face_nets.h"

#include <fmt/format.h>

#include <array>
#include <limits>

namespace s3e {
namespace {

// TF 'same' padding of one dimension: {before, after}.
std::array<int64_t, 2> same_pad(int64_t in, int64_t k, int64_t s) {
  int64_t out = (in + s - 1) / s, total = std::max<int64_t>((out - 1) * s + k - in, 0);
  return {total / 2, total - total / 2};
}

// Set for the duration of a net's forward (FaceNetKernels): send every CPU float convolution to oneDNN. LibTorch
// 1.13 otherwise runs 1x1 convolutions at batch < 16 on one thread as im2col + BLAS GEMM (OpenBLAS' Haswell kernel
// on this build), which on AVX-512 CPUs is slower than oneDNN's JIT kernels.
thread_local bool t_onednn = false;

struct KernelScope {
  bool saved = t_onednn;
  explicit KernelScope(bool onednn) { t_onednn = onednn && at::hasMKLDNN(); }
  ~KernelScope() { t_onednn = saved; }
};

// at::conv2d with square stride/padding (spelled out: brace lists are ambiguous with the string-padding overload).
torch::Tensor conv(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, int64_t stride = 1,
                   int64_t pad_h = 0, int64_t pad_w = 0, int64_t groups = 1) {
  const int64_t s[2] = {stride, stride}, p[2] = {pad_h, pad_w}, d[2] = {1, 1};
  if (t_onednn && x.is_cpu() && x.scalar_type() == at::kFloat)
    return at::mkldnn_convolution(x, w, b.defined() ? c10::optional<at::Tensor>(b) : c10::nullopt,
                                  at::IntArrayRef(p, 2), at::IntArrayRef(s, 2), at::IntArrayRef(d, 2), groups);
  return at::conv2d(x, w, b, at::IntArrayRef(s, 2), at::IntArrayRef(p, 2), at::IntArrayRef(d, 2), groups);
}

// conv2d with TF padding ('same' or 'valid'); symmetric pads go to the conv itself, asymmetric ones are explicit.
torch::Tensor conv_tf(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, int64_t stride,
                      bool same, int64_t groups = 1) {
  if (!same) return conv(x, w, b, stride, 0, 0, groups);
  auto ph = same_pad(x.size(2), w.size(2), stride), pw = same_pad(x.size(3), w.size(3), stride);
  if (ph[0] == ph[1] && pw[0] == pw[1]) return conv(x, w, b, stride, ph[0], pw[0], groups);
  auto padded = at::constant_pad_nd(x, {pw[0], pw[1], ph[0], ph[1]}, 0);
  return conv(padded, w, b, stride, 0, 0, groups);
}

// max pool with TF 'same' padding (padded cells are ignored: -inf).
torch::Tensor max_pool_same(const torch::Tensor& x, int64_t k, int64_t s) {
  auto ph = same_pad(x.size(2), k, s), pw = same_pad(x.size(3), k, s);
  int64_t out_h = (x.size(2) + s - 1) / s, out_w = (x.size(3) + s - 1) / s;
  if (ph[0] == 0 && pw[0] == 0 && s > 1) {
    // Padding only after: ceil mode gives the same windows without a padded copy.
    auto y = at::max_pool2d(x, {k, k}, {s, s}, {0, 0}, {1, 1}, /*ceil_mode=*/true);
    if (y.size(2) == out_h && y.size(3) == out_w) return y;
  }
  auto padded = at::constant_pad_nd(x, {pw[0], pw[1], ph[0], ph[1]}, -std::numeric_limits<double>::infinity());
  return at::max_pool2d(padded, {k, k}, {s, s});
}

// TinyYolo leaky: relu(x - 0.1x) + 0.1x with float32 0.1.
// In place on `x` (a fresh conv output): one temporary instead of four full-size ones.
torch::Tensor leaky(torch::Tensor x) {
  auto min = x * 0.10000000149011612;
  return x.sub_(min).relu_().add_(min);
}

at::MemoryFormat layout(bool channels_last) {
  return channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
torch::Tensor FaceNetWeights::raw(const std::string& name, const std::vector<int64_t>& tfjs_shape) const {
  const TfjsTensor& t = weights_->get(name, tfjs_shape);
  auto cpu = torch::from_blob(const_cast<float*>(t.values.data()), t.shape, torch::kFloat32).clone();
  return cpu.to(device_);
}

torch::Tensor FaceNetWeights::conv(const std::string& name, const std::vector<int64_t>& tfjs_shape) const {
  return raw(name, tfjs_shape).permute({3, 2, 0, 1}).contiguous();
}

torch::Tensor FaceNetWeights::depthwise(const std::string& name, int64_t channels) const {
  return raw(name, {3, 3, channels, 1}).permute({2, 3, 0, 1}).contiguous();
}

torch::Tensor FaceNetWeights::vector(const std::string& name, int64_t size) const { return raw(name, {size}); }

SeparableConv::SeparableConv(const FaceNetWeights& w, const std::string& prefix, int64_t in, int64_t out)
    : depthwise(w.depthwise(prefix + "/depthwise_filter", in)),
      pointwise(w.conv(prefix + "/pointwise_filter", {1, 1, in, out})),
      bias(w.vector(prefix + "/bias", out)) {}

torch::Tensor SeparableConv::forward(const torch::Tensor& x, int64_t stride) const {
  auto y = conv_tf(x, depthwise, {}, stride, true, depthwise.size(0));
  return conv(y, pointwise, bias);
}

// ---------------------------------------------------------------------------------------------------------------
TinyFaceDetectorNet::TinyFaceDetectorNet(const TfjsWeights& weights, torch::Device device) {
  FaceNetWeights w(weights, device);
  conv0_w_ = w.conv("conv0/filters", {3, 3, 3, 16});
  conv0_b_ = w.vector("conv0/bias", 16);
  const int64_t channels[6] = {16, 32, 64, 128, 256, 512};
  for (int i = 0; i < 5; ++i)
    convs_[i] = SeparableConv(w, fmt::format("conv{}", i + 1), channels[i], channels[i + 1]);
  conv8_w_ = w.conv("conv8/filters", {1, 1, 512, 25});
  conv8_b_ = w.vector("conv8/bias", 25);
}

torch::Tensor TinyFaceDetectorNet::forward(const torch::Tensor& x) const {
  KernelScope kernels(onednn);
  // channels_last was ~3x faster on an Intel Xeon (NCHW max_pool2d), 2x slower on AMD EPYC (depthwise convs).
  auto y = leaky(conv(x.contiguous(layout(channels_last)), conv0_w_, conv0_b_));  // 'valid'
  y = max_pool_same(y, 2, 2);
  for (int i = 0; i < 5; ++i) {
    // TinyYolo separable conv: explicit zero pad 1, depthwise 'valid', pointwise, bias, leaky.
    y = conv(y, convs_[i].depthwise, {}, 1, 1, 1, convs_[i].depthwise.size(0));
    y = leaky(conv(y, convs_[i].pointwise, convs_[i].bias));
    y = max_pool_same(y, 2, i < 4 ? 2 : 1);
  }
  return conv(y, conv8_w_, conv8_b_).contiguous();
}

// ---------------------------------------------------------------------------------------------------------------
FaceDenseNet::FaceDenseNet(const TfjsWeights& weights, torch::Device device, int64_t outputs) {
  FaceNetWeights w(weights, device);
  conv0_w_ = w.conv("dense0/conv0/filters", {3, 3, 3, 32});
  conv0_b_ = w.vector("dense0/conv0/bias", 32);
  const int64_t channels[5] = {3, 32, 64, 128, 256};
  for (int b = 0; b < 4; ++b)
    for (int c = 0; c < 4; ++c) {
      if (b == 0 && c == 0) continue;
      int64_t in = c == 0 ? channels[b] : channels[b + 1];
      blocks_[b][c] = SeparableConv(w, fmt::format("dense{}/conv{}", b, c), in, channels[b + 1]);
    }
  fc_w_ = w.raw("fc/weights", {256, outputs});
  fc_b_ = w.vector("fc/bias", outputs);
}

torch::Tensor FaceDenseNet::forward(const torch::Tensor& x) const {
  KernelScope kernels(onednn);
  torch::Tensor y = x.contiguous(layout(channels_last));
  for (int b = 0; b < 4; ++b) {
    // The running sum is ((out1 + out2) + out3) + out4, as before, kept instead of recomputed; in place where the
    // operand is a fresh temporary (fewer full-size allocations and passes over memory).
    auto out1 = (b == 0 ? conv_tf(y, conv0_w_, conv0_b_, 2, true) : blocks_[b][0].forward(y, 2)).relu_();
    auto sum = out1 + blocks_[b][1].forward(out1, 1);
    sum.add_(blocks_[b][2].forward(at::relu(sum), 1));
    sum.add_(blocks_[b][3].forward(at::relu(sum), 1));
    y = sum.relu_();
  }
  y = at::avg_pool2d(y, {7, 7}, {2, 2}).flatten(1);
  return at::matmul(y, fc_w_) + fc_b_;
}

// ---------------------------------------------------------------------------------------------------------------
FaceRecognitionNet::FaceRecognitionNet(const TfjsWeights& weights, torch::Device device) {
  FaceNetWeights w(weights, device);
  auto add = [&](const std::string& p, int64_t k, int64_t in, int64_t out) {
    layers_[p] = {w.conv(p + "/conv/filters", {k, k, in, out}), w.vector(p + "/conv/bias", out),
                  w.vector(p + "/scale/weights", out), w.vector(p + "/scale/biases", out)};
  };
  auto add_residual = [&](const std::string& p, int64_t in, int64_t out) {
    add(p + "/conv1", 3, in, out);
    add(p + "/conv2", 3, out, out);
  };
  add("conv32_down", 7, 3, 32);
  for (auto p : {"conv32_1", "conv32_2", "conv32_3"}) add_residual(p, 32, 32);
  add_residual("conv64_down", 32, 64);
  for (auto p : {"conv64_1", "conv64_2", "conv64_3"}) add_residual(p, 64, 64);
  add_residual("conv128_down", 64, 128);
  for (auto p : {"conv128_1", "conv128_2"}) add_residual(p, 128, 128);
  add_residual("conv256_down", 128, 256);
  for (auto p : {"conv256_1", "conv256_2"}) add_residual(p, 256, 256);
  add_residual("conv256_down_out", 256, 256);
  fc_ = w.raw("fc", {256, 128});
}

torch::Tensor FaceRecognitionNet::conv_layer(const torch::Tensor& x, const std::string& p, int64_t stride, bool same,
                                             bool relu) const {
  const ConvLayer& l = layers_.at(p);
  // In place on the fresh conv output (same arithmetic, no full-size temporaries).
  auto y = conv_tf(x, l.w, l.b, stride, same).mul_(l.scale.view({1, -1, 1, 1})).add_(l.shift.view({1, -1, 1, 1}));
  return relu ? y.relu_() : y;
}

torch::Tensor FaceRecognitionNet::residual(const torch::Tensor& x, const std::string& p, bool down) const {
  auto out = conv_layer(x, p + "/conv1", down ? 2 : 1, !down, true);
  out = conv_layer(out, p + "/conv2", 1, true, false);
  torch::Tensor shortcut = x;
  if (down) {
    shortcut = at::avg_pool2d(x, {2, 2}, {2, 2});
    // The strided 'valid' conv path can be one row/column short: face-api appends zeros at the bottom/right.
    if (out.size(2) != shortcut.size(2)) out = at::constant_pad_nd(out, {0, 0, 0, 1}, 0);
    if (out.size(3) != shortcut.size(3)) out = at::constant_pad_nd(out, {0, 1, 0, 0}, 0);
    if (shortcut.size(1) != out.size(1))
      shortcut = at::cat({shortcut, at::zeros_like(shortcut)}, 1);
  }
  return at::relu(out + shortcut);
}

torch::Tensor FaceRecognitionNet::forward(const torch::Tensor& x) const {
  KernelScope kernels(onednn);
  auto y = conv_layer(x.contiguous(layout(channels_last)), "conv32_down", 2, false, true);
  y = at::max_pool2d(y, {3, 3}, {2, 2});
  for (auto p : {"conv32_1", "conv32_2", "conv32_3"}) y = residual(y, p, false);
  y = residual(y, "conv64_down", true);
  for (auto p : {"conv64_1", "conv64_2", "conv64_3"}) y = residual(y, p, false);
  y = residual(y, "conv128_down", true);
  for (auto p : {"conv128_1", "conv128_2"}) y = residual(y, p, false);
  y = residual(y, "conv256_down", true);
  for (auto p : {"conv256_1", "conv256_2"}) y = residual(y, p, false);
  y = residual(y, "conv256_down_out", true);
  return at::matmul(y.mean({2, 3}), fc_);
}

// ---------------------------------------------------------------------------------------------------------------
AgeGenderNet::Reduction AgeGenderNet::reduction(const FaceNetWeights& w, const std::string& p, int64_t in,
                                                int64_t out) {
  return {SeparableConv(w, p + "/separable_conv0", in, out), SeparableConv(w, p + "/separable_conv1", out, out),
          w.conv(p + "/expansion_conv/filters", {1, 1, in, out}), w.vector(p + "/expansion_conv/bias", out)};
}

AgeGenderNet::AgeGenderNet(const TfjsWeights& weights, torch::Device device) {
  FaceNetWeights w(weights, device);
  conv_in_w_ = w.conv("entry_flow/conv_in/filters", {3, 3, 3, 32});
  conv_in_b_ = w.vector("entry_flow/conv_in/bias", 32);
  entry0_ = reduction(w, "entry_flow/reduction_block_0", 32, 64);
  entry1_ = reduction(w, "entry_flow/reduction_block_1", 64, 128);
  for (int b = 0; b < 2; ++b)
    for (int c = 0; c < 3; ++c)
      middle_[b][c] = SeparableConv(w, fmt::format("middle_flow/main_block_{}/separable_conv{}", b, c), 128, 128);
  exit_ = reduction(w, "exit_flow/reduction_block", 128, 256);
  exit_sep_ = SeparableConv(w, "exit_flow/separable_conv", 256, 512);
  age_w_ = w.raw("fc/age/weights", {512, 1});
  age_b_ = w.vector("fc/age/bias", 1);
  gender_w_ = w.raw("fc/gender/weights", {512, 2});
  gender_b_ = w.vector("fc/gender/bias", 2);
}

torch::Tensor AgeGenderNet::reduction_forward(const torch::Tensor& x, const Reduction& r, bool activate_input) const {
  auto o = r.sc0.forward(activate_input ? at::relu(x) : x, 1);
  o = r.sc1.forward(at::relu(o), 1);
  o = max_pool_same(o, 3, 2);
  return o + conv_tf(x, r.expansion_w, r.expansion_b, 2, true);
}

std::pair<torch::Tensor, torch::Tensor> AgeGenderNet::forward(const torch::Tensor& x) const {
  auto y = at::relu(conv_tf(x, conv_in_w_, conv_in_b_, 2, true));
  y = reduction_forward(y, entry0_, false);
  y = reduction_forward(y, entry1_, true);
  for (int b = 0; b < 2; ++b) {
    auto o = middle_[b][0].forward(at::relu(y), 1);
    o = middle_[b][1].forward(at::relu(o), 1);
    o = middle_[b][2].forward(at::relu(o), 1);
    y = o + y;
  }
  y = reduction_forward(y, exit_, true);
  y = at::relu(exit_sep_.forward(y, 1));
  y = at::avg_pool2d(y, {7, 7}, {2, 2}).flatten(1);
  auto age = (at::matmul(y, age_w_) + age_b_).flatten();
  auto gender = at::softmax(at::matmul(y, gender_w_) + gender_b_, 1);
  return {age, gender};
}

}  // namespace s3e
