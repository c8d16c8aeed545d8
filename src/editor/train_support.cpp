#include "editor/train_support.h"

#include <nlohmann/json.hpp>

#include <fstream>

#include "store/latent_store.h"

namespace fs = std::filesystem;

namespace s3e {

void train_add_dist_config(ConfigSchema& s) {
  s.add_choice("dist.backend", "mpi", {"mpi", "nccl"}, "communicator backend (nccl needs a CUDA build)")
      .add_real("dist.watchdog_s", 600, "a collective stalled longer than this aborts the job (0 = off)", 0, 1e6)
      .add_bool("dist.check_collectives", false, "debug: verify all ranks issue the same collective");
}

std::unique_ptr<Communicator> train_make_comm(const Config& c) {
  CommOptions o;
  o.watchdog_timeout_s = c.get_real("dist.watchdog_s");
  o.check_collectives = c.get_bool("dist.check_collectives");
  return comm_create(c.get_text("dist.backend"), o);
}

torch::Tensor store_read_tensor(const LatentStore& store, const std::string& column, const std::vector<int64_t>& rows) {
  auto shape = store.column_shape(column);
  int64_t width = 1;
  for (size_t i = 1; i < shape.size(); ++i) width *= shape[i];
  auto t = torch::empty({int64_t(rows.size()), width});
  store.read_rows_f32(column, rows, t.data_ptr<float>());
  return t;
}

std::pair<torch::Tensor, torch::Tensor> store_norm_stats(const LatentStore& store, int64_t rows, int64_t max_rows) {
  int64_t n = std::min(rows, max_rows);
  auto x = torch::empty({n, store.latent_dim()});
  store.read_range_f32("latents", 0, n, x.data_ptr<float>());
  auto x64 = x.to(torch::kDouble);
  auto mean = x64.mean(0), std = x64.std(0).clamp_min(1e-6);
  return {mean.to(torch::kFloat), std.to(torch::kFloat)};
}

TrainLog::TrainLog(fs::path file, bool enabled, int64_t resumed_step) : file_(std::move(file)), enabled_(enabled) {
  if (!enabled_) return;
  fs::create_directories(file_.parent_path());
  std::vector<std::string> keep;
  if (resumed_step >= 0 && fs::exists(file_)) {
    std::ifstream in(file_);
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.value("step", int64_t(1) << 62) <= resumed_step) keep.push_back(line);
    }
  }
  std::ofstream out(file_, std::ios::trunc);
  for (auto& line : keep) out << line << "\n";
}

void TrainLog::write(const std::string& json_line) {
  if (!enabled_) return;
  std::ofstream out(file_, std::ios::app);
  out << json_line << "\n";
}

}  // namespace s3e
