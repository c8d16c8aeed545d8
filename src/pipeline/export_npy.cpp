// s3editor export-npy — writes a store's latents and labels as Latent Transformer-format .npy files
// (float32, C order) plus the attribute names, streaming, for use from Python without s3editor.
#include "pipeline/export_npy.h"

#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include "core/errors.h"
#include "core/file_util.h"
#include "store/latent_store.h"
#include "store/npy_writer.h"
#include "store/store_schema.h"

namespace fs = std::filesystem;

namespace s3e {
void pipeline_export_npy_add_config(ConfigSchema&) {}

int pipeline_export_npy_run(Communicator& comm, const ExportNpyOptions& options) {
  auto files = options.stores;
  if (files.empty()) throw UsageError("export-npy needs a store file");
  if (comm.rank() != 0) return 0;
  LatentStore store(files[0]);
  fs::path out = options.out_dir;
  file_ensure_writable_dir(out);
  std::vector<int64_t> shape = {store.size()};
  shape.insert(shape.end(), store.latent_shape().begin(), store.latent_shape().end());
  NpyWriter latents(out / "latents.npy", shape);
  NpyWriter labels(out / "labels.npy", {store.size(), store.num_attributes()});
  const int64_t block = std::max<int64_t>(1, (16 << 20) / (store.latent_dim() * 4));
  std::vector<float> buf;
  for (int64_t b = 0; b < store.size(); b += block) {
    int64_t n = std::min(block, store.size() - b);
    buf.resize(n * store.latent_dim());
    store.read_range_f32(k_col_latents, b, n, buf.data());
    latents.append_rows(buf.data(), n);
    buf.resize(n * store.num_attributes());
    store.read_range_f32(k_col_labels, b, n, buf.data());
    labels.append_rows(buf.data(), n);
  }
  latents.finalize();
  labels.finalize();
  std::string names;
  for (auto& a : store.attribute_names()) names += a + "\n";
  file_write_atomic(out / "attributes.txt", names);
  spdlog::info("exported {} samples to {}/latents.npy, labels.npy, attributes.txt", store.size(), out.string());
  return 0;
}

}  // namespace s3e
