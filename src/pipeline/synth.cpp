// s3editor synth — generates a synthetic latent world (synth_world.h) as a sharded latent store plus a separate
// ground-truth file next to it (for the metrics only: the trainer is given the data file alone). Each rank
// generates a contiguous block of videos; the same seed gives byte-identical files at the same rank count and the
// same data (through the index's virtual datasets) at any rank count.
//
// The data file carries nothing the truth could be regenerated from: no config, no seed; its resume key is the
// SHA-256 of the stage's fingerprint (output_fingerprint.h). The truth file keeps the full config.
#include "pipeline/synth.h"

#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include "core/progress.h"
#include "dist/sha256.h"
#include "store/output_fingerprint.h"
#include "store/store_schema.h"
#include "store/store_shards.h"
#include "synth/synth_world.h"

namespace fs = std::filesystem;

namespace s3e {
namespace {

fs::path truth_path_for(const fs::path& data_path) {
  return data_path.parent_path() / (data_path.stem().string() + ".truth.h5");
}

}  // namespace

void pipeline_synth_add_config(ConfigSchema& schema) {
  synth_add_config(schema);
  schema
      .add_int("store.chunk_kib", 64, "target chunk size in KiB (rows per chunk = max(1, target/row bytes))", 1, 1024)
      .add_int("store.compression", 0, "gzip level for row datasets (0 = off; gzip slows random reads 30-50x)", 0, 9);
}

int pipeline_synth_run(Communicator& comm, const SynthOptions& options) {
  const StageRun& stage = options.run;
  fs::path out = options.out;
  fs::path truth_out = truth_path_for(out);
  // Hashed: the raw fingerprint holds run.seed and every synth.* key, from which the truth could be regenerated.
  const std::string fingerprint =
      "sha256:" + sha256_hex(output_fingerprint(stage.config, comm.size(), {stage.config.get_text("synth.correlation_file")}));
  if (!stage.fresh && output_is_current(out, k_store_schema, fingerprint) &&
      output_is_current(truth_out, k_truth_schema, fingerprint)) {
    if (comm.rank() == 0) spdlog::info("{} is already complete for this config; nothing to do (--fresh redoes it)", out.string());
    return 0;
  }

  SynthSpec spec = synth_spec_from_config(stage.config);
  SynthWorld world(spec);
  const int64_t A = spec.num_attributes, D = spec.dim(), F = spec.frames_per_video;
  const auto shape = spec.latent_shape();
  RowFileOptions row_options{stage.config.get_int("store.chunk_kib") * 1024,
                         static_cast<int>(stage.config.get_int("store.compression"))};
  auto data_columns = store_columns(shape, A);
  std::vector<ColumnSpec> truth_columns = {{"strengths", {A}, ColumnType::f32}, {"identity", shape, ColumnType::f32}};

  auto [first_video, end_video] = shard_row_range(spec.num_videos, comm.rank(), comm.size());
  {
    RowFileWriter data(shard_path(out, comm.rank(), comm.size()), k_store_schema, k_store_schema_version,
                       data_columns, row_options);
    RowFileWriter truth(shard_path(truth_out, comm.rank(), comm.size()), k_truth_schema, k_truth_schema_version,
                        truth_columns, row_options);
    data.set_attr_int64s("latent_shape", shape);
    truth.set_attr_int64s("latent_shape", shape);
    std::vector<float> latents(F * D), labels(F * A), strengths(F * A), identity(F * D);
    std::vector<int64_t> video_index(F), frame_index(F);
    Progress progress("synth", spec.num_videos, (comm.rank() == 0));
    for (int64_t v = first_video; v < end_video; ++v) {
      world.generate_video(v, latents.data(), labels.data(), strengths.data(), identity.data());
      for (int64_t f = 0; f < F; ++f) {
        video_index[f] = F > 1 ? v : -1;
        frame_index[f] = F > 1 ? f : 0;
      }
      data.append(k_col_latents, latents.data(), F);
      data.append(k_col_labels, labels.data(), F);
      data.append(k_col_video_index, video_index.data(), F);
      data.append(k_col_frame_index, frame_index.data(), F);
      truth.append("strengths", strengths.data(), F);
      truth.append("identity", identity.data(), F);
      progress.advance(comm.size());
    }
    data.finalize();
    truth.finalize();
    progress.finish();
  }
  const int64_t my_rows = (end_video - first_video) * F;
  std::vector<std::string> video_names;
  if (F > 1)
    for (int64_t v = 0; v < spec.num_videos; ++v) video_names.push_back(fmt::format("synth_video_{:06d}", v));
  const std::string config_ini = stage.config.to_ini();
  // The truth index is published first: a data index that exists always has its truth next to it.
  shards_publish_index(comm, truth_out, k_truth_schema, k_truth_schema_version, truth_columns, my_rows, [&](RowFileWriter& t) {
    t.set_attr_int64s("latent_shape", shape);
    t.set_attr_string("source", "synth");
    t.set_attr_string("config_ini", config_ini);
    t.set_attr_string("fingerprint", fingerprint);
    t.write_strings("attribute_names", spec.attribute_names);
    std::vector<int64_t> dir_shape = {A};
    dir_shape.insert(dir_shape.end(), shape.begin(), shape.end());
    t.write_array_f32("directions", dir_shape, world.directions().data());
    t.write_array_i32("region_of_dim", shape, world.region_of_dim().data());
    t.write_array_i32("target_region", {A}, world.target_region().data());
    t.write_array_i32("leak_region", {A}, world.leak_region().data());
    std::vector<float> corr(world.correlation().begin(), world.correlation().end());
    t.write_array_f32("correlation", {A, A}, corr.data());
    t.write_array_f32("mean", shape, world.mean().data());
    std::vector<int32_t> layers(spec.edit_layers.begin(), spec.edit_layers.end());
    t.write_array_i32("edit_layers", {static_cast<int64_t>(layers.size())}, layers.data());
    t.set_attr_string("model", world.model_text());
    t.set_attr_string("preset", spec.preset);
    if (spec.honest()) {
      // What the metrics need to evaluate s(x) on any latent (metrics/synth_truth.h) and the region subspaces.
      const int64_t k = spec.identity_dims, R = spec.num_regions, m = spec.region_dims;
      auto with_shape = [&](std::vector<int64_t> lead) {
        lead.insert(lead.end(), shape.begin(), shape.end());
        return lead;
      };
      t.write_array_f32("rotation_directions", with_shape({A}), world.rotation_directions().data());
      t.write_array_f32("rotation_weights", {A, k}, world.rotation_weights().data());
      t.write_array_f32("identity_basis", with_shape({k}), world.identity_basis().data());
      t.write_array_f32("region_bases", with_shape({R, m}), world.region_bases().data());
      auto f32 = [](const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); };
      t.write_array_f32("thresholds", {A}, f32(world.thresholds()).data());
      t.write_array_f32("label_thresholds", {A}, f32(world.label_thresholds()).data());
      t.write_array_f32("prevalence", {A}, f32(world.prevalence()).data());
      t.write_array_i32("partner", {A}, world.partner().data());
      auto number = [](double x) { return fmt::format("{:.17g}", x); };
      t.set_attr_string("attribute_scale", number(spec.attribute_scale));
      t.set_attr_string("identity_scale", number(spec.identity_scale));
      t.set_attr_string("rotation_max", number(spec.rotation_max));
      t.set_attr_string("proxy_weight", number(spec.proxy_weight));
      t.set_attr_string("label_noise", number(spec.label_noise));
      t.set_attr_string("partner_cosine", number(spec.partner_cosine));
    }
  });
  int64_t total = shards_publish_index(comm, out, k_store_schema, k_store_schema_version, data_columns, my_rows,
                                       [&](RowFileWriter& d) {
                                         d.set_attr_int64s("latent_shape", shape);
                                         d.set_attr_string("source", "synth");
                                         d.set_attr_string("fingerprint", fingerprint);
                                         d.set_attr_string("truth_file", truth_out.filename().string());
                                         d.write_strings(k_ds_attribute_names, spec.attribute_names);
                                         d.write_strings(k_ds_video_names, video_names);
                                       });
  if (comm.rank() == 0)
    spdlog::info("synthesised {} samples ({} videos x {} frames) of shape {} with {} attributes: {} (truth: {})", total,
                 spec.num_videos, F, shape_text(shape), A, out.string(), truth_out.string());
  return 0;
}

}  // namespace s3e
