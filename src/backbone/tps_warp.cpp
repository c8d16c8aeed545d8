#include "backbone/tps_warp.h"

#include <torch/torch.h>

#include <cstring>
#include <stdexcept>

namespace s3e {
namespace {

// U(r) = r^2 log r^2 (0 at r = 0), on squared distances.
torch::Tensor tps_kernel(const torch::Tensor& d2) { return d2 * torch::log(d2.clamp_min(1e-30)); }

// Border points of a W x H image in pixel coordinates (the image's outer edge).
torch::Tensor border_pins(int64_t width, int64_t height, int per_side) {
  std::vector<double> xy;
  for (int i = 0; i < per_side; ++i) {
    double t = double(i) / per_side;  // each side from one corner up to (not including) the next
    xy.insert(xy.end(), {t * width, 0.0});
    xy.insert(xy.end(), {double(width), t * height});
    xy.insert(xy.end(), {(1 - t) * width, double(height)});
    xy.insert(xy.end(), {0.0, (1 - t) * height});
  }
  return torch::tensor(xy, torch::kFloat64).view({-1, 2});
}

}  // namespace

at::Tensor tps_warp_tensor(const at::Tensor& image, const at::Tensor& from, const at::Tensor& to,
                           const TpsOptions& options) {
  if (image.dim() != 4 || from.dim() != 3 || to.sizes() != from.sizes() || from.size(2) != 2 ||
      from.size(0) != image.size(0))
    throw std::invalid_argument("tps_warp_tensor: image [B,C,H,W], from and to [B,P,2] of the same shape");
  const int64_t B = image.size(0), H = image.size(2), W = image.size(3);
  // Fit and evaluate in double: the identity case must come out exact, and the system is small.
  auto pins = border_pins(W, H, options.pins_per_side).unsqueeze(0).expand({B, -1, -1});
  auto ctrl = torch::cat({to.to(torch::kFloat64), pins}, 1);     // where output points are
  auto value = torch::cat({from.to(torch::kFloat64), pins}, 1);  // where they come from
  const int64_t P = ctrl.size(1);
  auto K = tps_kernel((ctrl.unsqueeze(2) - ctrl.unsqueeze(1)).pow(2).sum(3)) +
           options.regularisation * torch::eye(P, torch::kFloat64).unsqueeze(0);
  auto affine = torch::cat({torch::ones({B, P, 1}, torch::kFloat64), ctrl}, 2);  // [B,P,3]
  auto top = torch::cat({K, affine}, 2);
  auto bottom = torch::cat({affine.transpose(1, 2), torch::zeros({B, 3, 3}, torch::kFloat64)}, 2);
  auto system = torch::cat({top, bottom}, 1);  // [B,P+3,P+3]
  auto rhs = torch::cat({value, torch::zeros({B, 3, 2}, torch::kFloat64)}, 1);
  auto coef = torch::linalg_solve(system, rhs);  // [B,P+3,2]: bending weights, then the affine part

  // Pixel centres through the spline: `points` [B,M,2] -> where they come from [B,M,2].
  auto through_spline = [&](const torch::Tensor& points) {
    const int64_t M = points.size(1);
    // Squared distances as |g|^2 + |c|^2 - 2 g.c: [B,M,P] without a [B,M,P,2] intermediate.
    auto d2 = (points.pow(2).sum(2, true) + ctrl.pow(2).sum(2).unsqueeze(1) - 2 * torch::bmm(points, ctrl.transpose(1, 2)))
                  .clamp_min(0);
    auto affine_part = torch::cat({torch::ones({B, M, 1}, torch::kFloat64), points}, 2);
    return torch::bmm(tps_kernel(d2), coef.narrow(1, 0, P)) + torch::bmm(affine_part, coef.narrow(1, P, 3));
  };
  auto centres = [](int64_t n, int64_t step) { return torch::arange(n, torch::kFloat64) * double(step) + 0.5; };
  auto ys = centres(H, 1), xs = centres(W, 1);
  auto grid = torch::stack(torch::meshgrid({ys, xs}, "ij"), -1).flip(-1).view({1, H * W, 2}).expand({B, -1, -1});
  torch::Tensor source;
  const int64_t step = std::max(1, options.grid_step);
  if (step == 1) {
    source = through_spline(grid);
  } else {
    // Displacement on a coarse lattice of pixel centres 0, step, 2 step, ... (covering the last pixel), then
    // interpolated bilinearly at every pixel: lattice node i is pixel i * step, so align_corners = true.
    const int64_t Hc = (H - 1 + step - 1) / step + 1, Wc = (W - 1 + step - 1) / step + 1;
    auto coarse = torch::stack(torch::meshgrid({centres(Hc, step), centres(Wc, step)}, "ij"), -1).flip(-1)
                      .view({1, Hc * Wc, 2}).expand({B, -1, -1});
    auto displacement = (through_spline(coarse) - coarse).view({B, Hc, Wc, 2}).permute({0, 3, 1, 2});  // [B,2,Hc,Wc]
    auto at = (grid - 0.5) / double(step);                                     // lattice coordinates of every pixel
    auto lattice = torch::tensor({double(Wc - 1), double(Hc - 1)}, torch::kFloat64);
    auto where = (at * 2 / lattice - 1).view({B, H, W, 2});
    auto fine = torch::nn::functional::grid_sample(
        displacement, where,
        torch::nn::functional::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(true));
    source = grid + fine.permute({0, 2, 3, 1}).reshape({B, H * W, 2});
  }
  // Pixel coordinates -> grid_sample's [-1, 1] (align_corners = false: -1 and 1 are the outer edges).
  auto sizes = torch::tensor({double(W), double(H)}, torch::kFloat64);
  auto normalised = (source * 2 / sizes - 1).view({B, H, W, 2}).to(image.scalar_type());
  return torch::nn::functional::grid_sample(
      image, normalised,
      torch::nn::functional::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false));
}

Image tps_warp(ImageView image, const std::vector<FacePoint>& from, const std::vector<FacePoint>& to,
               const TpsOptions& options) {
  if (from.size() != to.size()) throw std::invalid_argument("tps_warp: from and to differ in size");
  torch::NoGradGuard no_grad;
  auto pixels = torch::from_blob(const_cast<uint8_t*>(image.data), {image.height, image.width, 3}, torch::kUInt8)
                    .permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32);
  std::vector<double> f, t;
  for (size_t i = 0; i < from.size(); ++i) f.insert(f.end(), {from[i].x, from[i].y}), t.insert(t.end(), {to[i].x, to[i].y});
  const int64_t P = static_cast<int64_t>(from.size());
  auto warped = tps_warp_tensor(pixels, torch::tensor(f).view({1, P, 2}), torch::tensor(t).view({1, P, 2}), options);
  auto bytes = warped.squeeze(0).permute({1, 2, 0}).round().clamp(0, 255).to(torch::kUInt8).contiguous();
  Image out(image.width, image.height);
  std::memcpy(out.rgb.data(), bytes.data_ptr<uint8_t>(), out.rgb.size());
  return out;
}

}  // namespace s3e
