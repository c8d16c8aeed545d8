// TorchScript backbones (docs/backbones.md "TorchScript backbones"): folders written at test time by
// tests/backbone/make_torchscript_backbone.py and by the docs' export script (--tiny-random). A good folder loads
// with the sidecar's info, encodes and measures like the same modules run by python3-torch, and decodes an unedited
// face to its crop exactly; broken modules (arity, shape, dtype, NaN), bad sidecars, missing files and symlinks out of
// the folder are refused with a DataError naming the file.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "backbone/backbone.h"
#include "backbone/torchscript_backbone.h"
#include "common/test_util.h"
#include "core/errors.h"
#include "dist/sha256.h"

namespace s3e::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::string k_make_script = std::string(S3E_SOURCE_DIR) + "/tests/backbone/make_torchscript_backbone.py";
const std::string k_export_script = std::string(S3E_SOURCE_DIR) + "/docs/backbones/export_torchscript.py";

// Writes a backbone folder with the test script; `args` are its options beyond --out.
fs::path make_backbone(const fs::path& out, const std::string& args = "") {
  auto r = run_command(std::string(S3E_PYTHON3) + " " + shell_quote(k_make_script) + " --out " +
                       shell_quote(out.string()) + " " + args);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return out;
}

// The message of the E that f() throws ("" and a failure when it throws nothing or something else).
template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw another exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "threw nothing";
  return "";
}

std::string open_error(const fs::path& dir) {
  return error_of<DataError>([&] { torchscript_backbone_open(dir, {}); });
}

// Face k's crop: a deterministic colour pattern.
Image pattern_crop(int size, int k) {
  Image img(size, size);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x)
      for (int c = 0; c < 3; ++c) img.pixel(x, y)[c] = uint8_t((x * 4 + y * 2 + c * 50 + k * 30) % 256);
  return img;
}

std::vector<float> read_floats(const fs::path& path) {
  const std::string bytes = read_file(path);
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

void write_json(const fs::path& path, const json& j) { std::ofstream(path) << j.dump(2); }

class TorchscriptBackbone : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempDir("torchscript_backbone");
    make_backbone(*root_ / "good");
  }
  static void TearDownTestSuite() {
    delete root_;
    root_ = nullptr;
  }
  static fs::path good() { return *root_ / "good"; }
  // A copy of the good folder to break.
  static fs::path copy_of_good(const std::string& name) {
    const fs::path dir = *root_ / name;
    fs::copy(good(), dir, fs::copy_options::recursive);
    return dir;
  }
  static json good_sidecar() { return json::parse(read_file(good() / "backbone.json")); }

  static TempDir* root_;
};
TempDir* TorchscriptBackbone::root_ = nullptr;

TEST_F(TorchscriptBackbone, GoodFolderLoadsWithTheSidecarsInfo) {
  auto backbone = backbone_open(good().string());  // the dispatch: a folder is a TorchScript backbone
  const BackboneInfo& info = backbone->info();
  EXPECT_EQ(info.name, "tiny-test");
  EXPECT_EQ(info.kind, "torchscript");
  EXPECT_EQ(info.latent_shape, (std::vector<int64_t>{18, 16}));
  EXPECT_EQ(info.latent_dim(), 288);
  EXPECT_EQ(info.crop_size, 64);
  EXPECT_TRUE(info.needs_crop);
  EXPECT_EQ(info.alignment, "ffhq");
  // editable_layers [0, 10]: the first 11 layers of 16 numbers each.
  ASSERT_EQ(info.editable_dims.size(), 11u * 16u);
  EXPECT_EQ(info.editable_dims.front(), 0);
  EXPECT_EQ(info.editable_dims.back(), 11 * 16 - 1);
  EXPECT_EQ(info.attribute_names,
            (std::vector<std::string>{"5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes"}));
  EXPECT_EQ(info.region_names, (std::vector<std::string>{"coarse", "middle", "fine"}));
  ASSERT_EQ(info.region_of_dim.size(), 288u);
  EXPECT_EQ(info.region_of_dim[3 * 16 + 15], 0);  // layer 3: coarse
  EXPECT_EQ(info.region_of_dim[4 * 16], 1);       // layer 4: middle
  EXPECT_EQ(info.region_of_dim[17 * 16], 2);      // layer 17: fine
  ASSERT_EQ(info.attribute_regions.size(), 4u);
  EXPECT_EQ(info.attribute_regions[0], (std::vector<int32_t>{1}));
  EXPECT_TRUE(info.attribute_regions[1].empty());
  EXPECT_TRUE(backbone->has_measures());

  // fingerprint = SHA-256 of `sha256sum backbone.json encoder.pt generator.pt classifier.pt`.
  std::string listing;
  for (const char* name : {"backbone.json", "encoder.pt", "generator.pt", "classifier.pt"})
    listing += sha256_of(good() / name) + "  " + name + "\n";
  EXPECT_EQ(info.fingerprint, sha256_hex(listing));

  EXPECT_THROW(torchscript_backbone_open(good(), {"no-such-device"}), UsageError);
}

TEST_F(TorchscriptBackbone, EncodeAndMeasureMatchTheModulesInPython) {
  auto backbone = torchscript_backbone_open(good(), {});
  const int n = 3, s = 64, dim = 288, attributes = 4;
  std::vector<Image> crops;
  std::vector<BackboneFace> faces;
  std::string crop_bytes;
  for (int k = 0; k < n; ++k) {
    crops.push_back(pattern_crop(s, k));
    crop_bytes.append(reinterpret_cast<const char*>(crops.back().rgb.data()), crops.back().rgb.size());
  }
  for (const auto& c : crops) faces.push_back({c.view(), {}});
  const std::vector<float> z = backbone->encode(faces);
  ASSERT_EQ(z.size(), size_t(n * dim));
  for (float v : z) ASSERT_TRUE(std::isfinite(v));
  const std::vector<float> a = backbone->measure(z.data(), n);
  ASSERT_EQ(a.size(), size_t(n * attributes));

  TempDir tmp("torchscript_python");
  std::ofstream(tmp / "crops.u8", std::ios::binary).write(crop_bytes.data(), std::streamsize(crop_bytes.size()));
  const std::string d = good().string(), t = tmp.path().string();
  auto r = run_python(
      "import torch, numpy as np\n"
      "enc = torch.jit.load('" +
      d + "/encoder.pt'); cls = torch.jit.load('" + d +
      "/classifier.pt')\n"
      "crops = np.fromfile('" +
      t +
      "/crops.u8', dtype=np.uint8).reshape(3, 64, 64, 3)\n"
      "x = torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 127.5 - 1\n"
      "with torch.no_grad():\n"
      "  z = enc(x); a = cls(z)\n"
      "z.numpy().astype('<f4').tofile('" +
      t + "/z.f32'); a.numpy().astype('<f4').tofile('" + t + "/a.f32')\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::vector<float> z_py = read_floats(tmp / "z.f32"), a_py = read_floats(tmp / "a.f32");
  ASSERT_EQ(z_py.size(), z.size());
  ASSERT_EQ(a_py.size(), a.size());
  for (size_t i = 0; i < z.size(); ++i) ASSERT_NEAR(z[i], z_py[i], 1e-4) << "latent " << i;
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], a_py[i], 1e-3) << "measure " << i;

  // measure_tensor: the same numbers, differentiable with respect to the latents.
  torch::Tensor zt = torch::from_blob(const_cast<float*>(z.data()), {n, dim}).clone().requires_grad_(true);
  torch::Tensor at = backbone->measure_tensor(zt);
  ASSERT_EQ(at.sizes().vec(), (std::vector<int64_t>{n, attributes}));
  EXPECT_TRUE(
      torch::allclose(at.detach(), torch::from_blob(const_cast<float*>(a.data()), {n, attributes}), 1e-5, 1e-5));
  at.sum().backward();
  ASSERT_TRUE(zt.grad().defined());
  EXPECT_GT(zt.grad().abs().sum().item<float>(), 0.0f);
  EXPECT_THROW(backbone->measure_tensor(torch::zeros({2, 7})), UsageError);

  // Crops of the wrong size are the caller's mistake.
  Image small(32, 32);
  EXPECT_THROW(backbone->encode({{small.view(), {}}}), UsageError);
}

TEST_F(TorchscriptBackbone, ResidualDecodeOfAnUneditedFaceIsTheCrop) {
  auto backbone = torchscript_backbone_open(good(), {});
  const Image crop = pattern_crop(64, 1);
  const std::vector<float> z = backbone->encode({{crop.view(), {}}});
  const Image same = backbone->decode(z.data(), z.data(), crop.view());
  ASSERT_EQ(same.width, 64);
  ASSERT_EQ(same.height, 64);
  EXPECT_EQ(same.rgb, crop.rgb);

  // An edit changes the crop by G(edited) - G(source): a tiny edit barely, a large one visibly.
  auto max_change = [&](float step) {
    std::vector<float> edited = z;
    for (int64_t i : backbone->info().editable_dims) edited[size_t(i)] += step;
    const Image out = backbone->decode(edited.data(), z.data(), crop.view());
    int most = 0;
    for (size_t i = 0; i < out.rgb.size(); ++i) most = std::max(most, std::abs(int(out.rgb[i]) - int(crop.rgb[i])));
    return most;
  };
  EXPECT_LE(max_change(1e-6f), 1);
  EXPECT_GT(max_change(2.0f), 5);
}

TEST_F(TorchscriptBackbone, DirectDecodeResizesTheGeneratorOutput) {
  const fs::path dir = make_backbone(*root_ / "direct", "--decode direct --generator-size 32 --attributes 0");
  auto backbone = torchscript_backbone_open(dir, {});
  EXPECT_FALSE(backbone->has_measures());
  EXPECT_TRUE(backbone->info().attribute_names.empty());
  EXPECT_THROW(backbone->measure(nullptr, 0), UsageError);
  const Image crop = pattern_crop(64, 2);
  const std::vector<float> z = backbone->encode({{crop.view(), {}}});
  const Image out = backbone->decode(z.data(), z.data(), crop.view());
  ASSERT_EQ(out.width, 64);
  ASSERT_EQ(out.height, 64);
  EXPECT_NE(out.rgb, crop.rgb);                                               // the generator's picture, not the crop
  EXPECT_EQ(backbone->decode(z.data(), z.data(), crop.view()).rgb, out.rgb);  // deterministic
}

struct DefectCase {
  const char* args;
  const char* file;
  const char* says;
};

TEST_F(TorchscriptBackbone, BrokenModulesAreRefusedNamingTheFile) {
  const DefectCase cases[] = {
      {"--defect arity", "encoder.pt", "expected exactly one tensor"},
      {"--defect arity --defect-module classifier", "classifier.pt", "expected exactly one tensor"},
      {"--defect shape --defect-module encoder", "encoder.pt", "returned shape [2, 18, 15]"},
      {"--defect shape", "generator.pt", "expected square images"},
      {"--defect shape --defect-module classifier", "classifier.pt", "returned shape [2, 3]"},
      {"--defect dtype", "classifier.pt", "returned dtype float64"},
      {"--defect dtype --defect-module encoder", "encoder.pt", "expected float32"},
      {"--defect nonfinite", "generator.pt", "NaN or Inf"},
      {"--defect nonfinite --defect-module encoder", "encoder.pt", "NaN or Inf"},
  };
  int k = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    const fs::path dir = make_backbone(*root_ / ("defect" + std::to_string(k++)), c.args);
    const std::string message = open_error(dir);
    EXPECT_NE(message.find((dir / c.file).string()), std::string::npos) << message;
    EXPECT_NE(message.find(c.says), std::string::npos) << message;
  }
}

TEST_F(TorchscriptBackbone, BadFilesAndSidecarsAreRefusedNamingTheFile) {
  {  // an unknown key (a typo) is not ignored
    const fs::path dir = copy_of_good("unknown_key");
    json j = good_sidecar();
    j["editable_layer"] = {0, 4};
    write_json(dir / "backbone.json", j);
    const std::string m = open_error(dir);
    EXPECT_NE(m.find((dir / "backbone.json").string()), std::string::npos) << m;
    EXPECT_NE(m.find("unknown key \"editable_layer\""), std::string::npos) << m;
  }
  {  // three names for a classifier with four outputs
    const fs::path dir = copy_of_good("attribute_count");
    json j = good_sidecar();
    j["attribute_names"].erase(3);
    write_json(dir / "backbone.json", j);
    const std::string m = open_error(dir);
    EXPECT_NE(m.find((dir / "classifier.pt").string()), std::string::npos) << m;
    EXPECT_NE(m.find("returned shape [2, 4]"), std::string::npos) << m;
    EXPECT_NE(m.find("attribute_names"), std::string::npos) << m;
  }
  {  // no encoder
    const fs::path dir = copy_of_good("missing_encoder");
    fs::remove(dir / "encoder.pt");
    const std::string m = open_error(dir);
    EXPECT_NE(m.find((dir / "encoder.pt").string() + ": missing"), std::string::npos) << m;
  }
  {  // a classifier without attribute names
    const fs::path dir = copy_of_good("no_names");
    json j = good_sidecar();
    j.erase("attribute_names");
    j["region_map"].erase("attribute_regions");
    write_json(dir / "backbone.json", j);
    const std::string m = open_error(dir);
    EXPECT_NE(m.find("\"attribute_names\" is missing"), std::string::npos) << m;
  }
  {  // a file that is not TorchScript
    const fs::path dir = copy_of_good("garbage_generator");
    std::ofstream(dir / "generator.pt") << "not a zip archive";
    const std::string m = open_error(dir);
    EXPECT_NE(m.find((dir / "generator.pt").string() + ": not a loadable TorchScript module"), std::string::npos) << m;
  }
  {  // TorchScript is code: a symlink out of the folder is refused
    const fs::path dir = copy_of_good("symlink_out");
    fs::rename(dir / "encoder.pt", *root_ / "outside_encoder.pt");
    fs::create_symlink(*root_ / "outside_encoder.pt", dir / "encoder.pt");
    const std::string m = open_error(dir);
    EXPECT_NE(m.find((dir / "encoder.pt").string()), std::string::npos) << m;
    EXPECT_NE(m.find("outside the backbone folder"), std::string::npos) << m;
  }
  {  // ... but one inside it is fine
    const fs::path dir = copy_of_good("symlink_in");
    fs::rename(dir / "encoder.pt", dir / "encoder.real.pt");
    fs::create_symlink("encoder.real.pt", dir / "encoder.pt");
    EXPECT_NO_THROW(torchscript_backbone_open(dir, {}));
  }
  // Sidecar values out of range, each named.
  const std::pair<json, std::string> sidecar_cases[] = {
      {json{{"alignment", "dlib"}}, "only \"ffhq\""},
      {json{{"editable_layers", {4, 18}}}, "\"editable_layers[1]\" must be an integer in [4, 17]"},
      {json{{"decode", "blend"}}, "\"decode\" is \"blend\""},
      {json{{"input_size", "64"}}, "\"input_size\" must be an integer"},
      {json{{"region_map", {{"region_names", {"a"}}, {"region_of_layer", {0, 0}}}}}, "one entry per layer (18"},
      {json{{"region_map",
             {{"region_names", {"a"}}, {"region_of_layer", nullptr}, {"region_of_dim", std::vector<int>(288, 1)}}}},
       "\"region_map.region_of_dim[]\" must be an integer in [-1, 0]"},
  };
  int k = 0;
  for (const auto& [patch, says] : sidecar_cases) {
    SCOPED_TRACE(patch.dump());
    const fs::path dir = copy_of_good("sidecar" + std::to_string(k++));
    json j = good_sidecar();
    j.merge_patch(patch);
    write_json(dir / "backbone.json", j);
    const std::string m = open_error(dir);
    EXPECT_NE(m.find((dir / "backbone.json").string()), std::string::npos) << m;
    EXPECT_NE(m.find(says), std::string::npos) << m;
  }
  {
    const fs::path dir = copy_of_good("not_json");
    std::ofstream(dir / "backbone.json") << "{\"name\": ";
    EXPECT_NE(open_error(dir).find("not valid JSON"), std::string::npos);
  }
}

// The docs' export script, --tiny-random: the shapes of StyleGAN2 + e4e + a CelebA latent classifier.
TEST(TorchscriptBackboneExport, TinyRandomExportLoads) {
  TempDir tmp("torchscript_export");
  const fs::path dir = tmp / "ffhq_tiny";
  auto r = run_command(std::string(S3E_PYTHON3) + " " + shell_quote(k_export_script) + " --tiny-random --out " +
                       shell_quote(dir.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto backbone = backbone_open(dir.string());
  const BackboneInfo& info = backbone->info();
  EXPECT_EQ(info.name, "ffhq_tiny");
  EXPECT_EQ(info.latent_shape, (std::vector<int64_t>{18, 512}));
  EXPECT_EQ(info.crop_size, 256);
  EXPECT_EQ(info.editable_dims.size(), 11u * 512u);  // W+ layers 0-10
  EXPECT_EQ(info.attribute_names.size(), 40u);
  EXPECT_EQ(info.attribute_names[31], "Smiling");
  EXPECT_EQ(info.region_names.size(), 3u);
  ASSERT_TRUE(backbone->has_measures());
  const Image crop = pattern_crop(256, 0);
  const std::vector<float> z = backbone->encode({{crop.view(), {}}});
  ASSERT_EQ(z.size(), size_t(18 * 512));
  EXPECT_EQ(backbone->measure(z.data(), 1).size(), 40u);
  EXPECT_EQ(backbone->decode(z.data(), z.data(), crop.view()).rgb, crop.rgb);
}

}  // namespace
}  // namespace s3e::test
