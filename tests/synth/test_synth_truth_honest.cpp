// The honest world's ground truth as the metrics use it (metrics/synth_truth.h): s(x) gives back the generating
// strengths on generated latents, edits are judged with s of the edited latent and energies in the region and
// identity subspaces; and `synth` writes a data store with nothing the truth could be regenerated from (no seed,
// no config), while its truth file loads and evaluates.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "common/test_util.h"
#include "metrics/latent_metrics.h"
#include "metrics/synth_truth.h"
#include "store/latent_store.h"
#include "store/store_schema.h"
#include "synth/synth_world.h"

using namespace s3e;
namespace fs = std::filesystem;

namespace {

SynthSpec honest_spec(double noise) {
  SynthSpec s;
  s.preset = "honest";
  s.seed = 5;
  s.layers = 4;
  s.channels = 64;
  s.edit_layers = {0, 1, 2};
  s.num_regions = 3;
  s.num_attributes = 8;
  for (int a = 0; a < 8; ++a) s.attribute_names.push_back(fmt::format("a{}", a));
  s.identity_dims = 6;
  s.region_dims = 12;
  s.identity_scale = 4.0;
  s.noise = noise;
  return s;
}

torch::Tensor f32(const std::vector<float>& v, std::vector<int64_t> shape) {
  return torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat).clone();
}
torch::Tensor i32(const std::vector<int32_t>& v) {
  return torch::from_blob(const_cast<int32_t*>(v.data()), {int64_t(v.size())}, torch::kInt32).to(torch::kLong);
}

SynthTruth truth_of(const SynthWorld& w) {
  const auto& sp = w.spec();
  const int64_t A = sp.num_attributes, D = sp.dim(), k = sp.identity_dims, R = sp.num_regions, m = sp.region_dims;
  SynthTruth t = synth_truth_make(f32(w.directions(), {A, D}), f32(w.mean(), {D}), i32(w.region_of_dim()),
                                  i32(w.target_region()), i32(w.leak_region()), sp.attribute_scale, 0.0);
  std::vector<float> th(w.thresholds().begin(), w.thresholds().end());
  synth_truth_set_honest(t, f32(w.rotation_directions(), {A, D}), f32(w.rotation_weights(), {A, k}),
                         f32(w.identity_basis(), {k, D}), f32(w.region_bases(), {R, m, D}), f32(th, {A}),
                         sp.rotation_max, sp.identity_scale);
  return t;
}

struct Rows {
  torch::Tensor x, s, id;
};
Rows generate(const SynthWorld& w, int64_t n) {
  const int64_t D = w.spec().dim(), A = w.spec().num_attributes;
  Rows r{torch::empty({n, D}), torch::empty({n, A}), torch::empty({n, D})};
  std::vector<float> labels(A);
  for (int64_t v = 0; v < n; ++v)
    w.generate_video(v, r.x[v].data_ptr<float>(), labels.data(), r.s[v].data_ptr<float>(), r.id[v].data_ptr<float>());
  return r;
}

}  // namespace

TEST(SynthTruthHonest, StrengthsAreRecoveredFromAnyGeneratedLatent) {
  SynthWorld clean(honest_spec(0.0));
  Rows r = generate(clean, 300);
  SynthTruth t = truth_of(clean);
  auto s = synth_truth_strengths(t, r.x);
  EXPECT_LT((s - r.s).abs().max().item<float>(), 2e-4) << "noise-free latents: exact up to float rounding";
  // The linear (additive) reading of the same latents is off: the directions turn with the identity.
  SynthTruth linear = t;
  linear.preset = "additive";
  EXPECT_GT((synth_truth_strengths(linear, r.x) - r.s).abs().max().item<float>(), 0.05);
  // Identity coordinates give back the identity component.
  auto id = torch::mm(synth_truth_identity_coords(t, r.x), t.identity_basis);
  EXPECT_LT((id - r.id).abs().max().item<float>(), 1e-4);

  SynthWorld noisy(honest_spec(0.05));
  Rows n = generate(noisy, 300);
  auto sn = synth_truth_strengths(truth_of(noisy), n.x);
  EXPECT_LT((sn - n.s).abs().max().item<float>(), 0.1) << "off by the noise's projection only";
}

TEST(SynthTruthHonest, EditsAreJudgedWithTheNonLinearTruth) {
  SynthWorld w(honest_spec(0.0));
  SynthTruth t = truth_of(w);
  const int64_t D = w.spec().dim();
  Rows r = generate(w, 64);
  // For each row, the exact edit of attribute a: s_a -> threshold +- 1 along d_a(z) of that row's identity.
  const int a = 2;
  auto z = synth_truth_identity_coords(t, r.x).to(torch::kDouble);
  auto theta = w.spec().rotation_max * torch::tanh(torch::mv(z, t.rotation_weights[a].to(torch::kDouble)) / 4.0);
  auto d = (torch::cos(theta).unsqueeze(1) * t.directions[a].to(torch::kDouble) +
            torch::sin(theta).unsqueeze(1) * t.rotation_directions[a].to(torch::kDouble)).to(torch::kFloat);
  const float th = float(w.thresholds()[a]);
  auto present = r.s.select(1, a) > th;
  auto target = torch::where(present, torch::full({64}, th - 1.0f), torch::full({64}, th + 1.0f));
  auto sign = torch::where(present, torch::full({64}, -1.0f), torch::full({64}, 1.0f));
  auto x_edit = r.x + 3.0 * (target - r.s.select(1, a)).unsqueeze(1) * d;
  auto attr = torch::full({64}, a, torch::kLong);
  auto m = truth_edit_metrics(t, r.x, x_edit, r.s, attr, sign);
  EXPECT_EQ(m.success.min().item<float>(), 1.0f);
  EXPECT_LT(m.preservation.max().item<float>(), 1e-4);
  EXPECT_GT(m.identity.min().item<float>(), 0.99999);
  EXPECT_LT(m.identity_leak.max().item<float>(), 1e-8);
  ASSERT_GE(w.leak_region()[a], 0);
  // d_a(z): all of v_a and (1 - c/2) of u_a in the target region, c/2 of u_a in the leak region.
  auto expect_locality = 1 - 0.225 * torch::cos(theta).pow(2);
  EXPECT_LT((m.locality.to(torch::kDouble) - expect_locality).abs().max().item<double>(), 1e-4);
  EXPECT_LT(m.over_editing.max().item<float>(), 1e-5);

  // The same amount along the fixed u_a (what a linear edit can do at best) misses: the strength moves by cos t
  // only and the rest lands off every direction.
  auto x_lin = r.x + 3.0 * (target - r.s.select(1, a)).unsqueeze(1) * t.directions[a];
  auto lin = truth_edit_metrics(t, r.x, x_lin, r.s, attr, sign);
  auto ds = synth_truth_strengths(t, x_lin) - r.s;
  auto want = (target - r.s.select(1, a)) * torch::cos(theta).to(torch::kFloat);
  EXPECT_LT((ds.select(1, a) - want).abs().max().item<float>(), 0.2);
  EXPECT_GT(lin.preservation.mean().item<float>(), 1e-3);

  // An edit inside the identity subspace: identity leak 1, over-editing 1, the identity changes.
  auto x_id = r.x + 2.0 * t.identity_basis[0];
  auto idm = truth_edit_metrics(t, r.x, x_id, r.s, attr, sign);
  EXPECT_NEAR(idm.identity_leak.min().item<float>(), 1.0, 1e-5);
  EXPECT_NEAR(idm.over_editing.min().item<float>(), 1.0, 1e-5);
  EXPECT_LT(idm.locality.max().item<float>(), 1e-6);
  EXPECT_LT(idm.identity.max().item<float>(), 0.9999);
  (void)D;
}

namespace {

// Every attribute of every object in an HDF5 file, as "path@name=value" (strings as text, numbers as text).
std::vector<std::string> all_attributes(const fs::path& file) {
  std::vector<std::string> out;
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(f, 0) << file;
  if (f < 0) return out;
  struct Ctx {
    std::vector<std::string>* out;
    hid_t file;
  } ctx{&out, f};
  auto on_object = [](hid_t, const char* name, const H5O_info_t*, void* data) -> herr_t {
    auto* c = static_cast<Ctx*>(data);
    hid_t obj = H5Oopen(c->file, name, H5P_DEFAULT);
    struct Inner {
      std::vector<std::string>* out;
      std::string path;
    } inner{c->out, name};
    auto on_attr = [](hid_t loc, const char* attr_name, const H5A_info_t*, void* d) -> herr_t {
      auto* in = static_cast<Inner*>(d);
      hid_t a = H5Aopen(loc, attr_name, H5P_DEFAULT);
      hid_t type = H5Aget_type(a), space = H5Aget_space(a);
      std::string value;
      hssize_t n = H5Sget_simple_extent_npoints(space);
      if (H5Tget_class(type) == H5T_STRING) {
        if (H5Tis_variable_str(type) > 0) {
          std::vector<char*> v(n);
          H5Aread(a, type, v.data());
          for (auto* s : v) value += std::string(s ? s : "") + "|";
          H5Dvlen_reclaim(type, space, H5P_DEFAULT, v.data());
        } else {
          std::vector<char> buf(H5Tget_size(type) * n + 1, 0);
          H5Aread(a, type, buf.data());
          value.assign(buf.begin(), buf.end());
        }
      } else if (H5Tget_class(type) == H5T_INTEGER) {
        std::vector<long long> v(n);
        H5Aread(a, H5T_NATIVE_LLONG, v.data());
        for (auto x : v) value += std::to_string(x) + "|";
      } else if (H5Tget_class(type) == H5T_FLOAT) {
        std::vector<double> v(n);
        H5Aread(a, H5T_NATIVE_DOUBLE, v.data());
        for (auto x : v) value += fmt::format("{}|", x);
      } else {
        value = "(other)";
      }
      H5Sclose(space), H5Tclose(type), H5Aclose(a);
      in->out->push_back(in->path + "@" + attr_name + "=" + value);
      return 0;
    };
    H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_NATIVE, nullptr, on_attr, &inner);
    H5Oclose(obj);
    return 0;
  };
  H5Ovisit(f, H5_INDEX_NAME, H5_ITER_NATIVE, on_object, &ctx);
  H5Fclose(f);
  return out;
}

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST(SynthTruthHonest, StoreCarriesNoSeedOrConfigAndTheTruthFileEvaluates) {
  test::TempDir dir("synth_honest_store");
  const std::string d = dir.path().string();
  const std::string seed = "918273645";
  const std::string args = "synth --set synth.preset=honest --set synth.num_samples=200 --set synth.layers=4 "
                           "--set synth.channels=64 --set synth.edit_layers=0-2 --set synth.num_attributes=40 "
                           "--set synth.region_dims=16 --set synth.identity_dims=8 --seed " + seed +
                           " --run-dir " + d + "/run --out " + d + "/store/world.h5";
  auto r = test::run_s3editor(args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  uint64_t seed_value = std::stoull(seed);
  std::string seed_bytes(reinterpret_cast<const char*>(&seed_value), 8);
  int data_files = 0;
  for (auto& e : fs::directory_iterator(dir / "store")) {
    const std::string name = e.path().filename().string();
    if (name.find(".truth") != std::string::npos) continue;
    ++data_files;
    auto attrs = all_attributes(e.path());
    EXPECT_FALSE(attrs.empty()) << name;
    for (auto& a : attrs) {
      EXPECT_EQ(a.find(seed), std::string::npos) << name << ": " << a;
      for (const char* config_text : {"[synth]", "synth.", "seed", "[run]", "preset", "honest", "region_dims"})
        EXPECT_EQ(a.find(config_text), std::string::npos) << name << " carries config text: " << a.substr(0, 200);
    }
    // Nor anywhere in the file's bytes (datasets included): the seed as text or as a 64-bit integer.
    std::string bytes = file_bytes(e.path());
    EXPECT_EQ(bytes.find(seed), std::string::npos) << name;
    EXPECT_EQ(bytes.find(seed_bytes), std::string::npos) << name;
    EXPECT_EQ(bytes.find("[synth]"), std::string::npos) << name;
  }
  EXPECT_EQ(data_files, 2);  // the index and its shard
  // The truth file keeps the full config.
  EXPECT_NE(file_bytes(dir / "store/world.truth.h5").find("seed = " + seed), std::string::npos);

  LatentStore store(dir / "store/world.h5");
  EXPECT_EQ(store.attribute_text("fingerprint").rfind("sha256:", 0), 0u);
  SynthTruth t = synth_truth_load(synth_truth_path_for(store, ""));
  ASSERT_TRUE(t.honest());
  EXPECT_EQ(t.region_bases.size(0), 7);  // the preset's region count (num_regions left at its default)
  EXPECT_EQ(t.identity_basis.size(0), 8);
  const int64_t n = 200, D = store.latent_dim(), A = 40;
  std::vector<int64_t> rows(n);
  for (int64_t i = 0; i < n; ++i) rows[i] = i;
  auto x = torch::empty({n, D}), s = torch::empty({n, A});
  store.read_latents(rows, x.data_ptr<float>());
  LatentStore truth_rows(t.path, k_truth_schema);
  truth_rows.read_rows_f32("strengths", rows, s.data_ptr<float>());
  EXPECT_LT((synth_truth_strengths(t, x) - s).abs().max().item<float>(), 0.1);
  // Region bases as loaded: orthonormal rows.
  auto b = t.region_bases.reshape({-1, D});
  EXPECT_LT((torch::mm(b, b.t()) - torch::eye(b.size(0))).abs().max().item<float>(), 1e-5);

  // A rerun with the same config finds the hashed fingerprint current and writes nothing.
  auto before = fs::last_write_time(dir / "store/world.h5");
  r = test::run_s3editor(args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("nothing to do"), std::string::npos) << r.output;
  EXPECT_EQ(before, fs::last_write_time(dir / "store/world.h5"));
}
