#include "dist/checkpoint.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/file_util.h"
#include "dist/sha256.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace s3e {

namespace {

constexpr const char* k_manifest = "MANIFEST.json";
constexpr const char* k_format = "s3editor-checkpoint";
constexpr int k_version = 1;

std::string rank_prefix(int rank) { return fmt::format("rank{:05d}.", rank); }

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) throw TransientError(fmt::format("{}: write failed", path.string()));
}

// The files of `folder` this rank answers for: its own rank files, and on rank 0 the shared ones.
std::vector<std::string> owned_files(const fs::path& folder, int rank) {
  std::vector<std::string> names;
  for (auto& entry : fs::directory_iterator(folder)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name == k_manifest || name.rfind(".", 0) == 0) continue;
    bool is_rank_file = name.rfind("rank", 0) == 0 && name.size() > 10 && name[9] == '.';
    if ((is_rank_file && name.rfind(rank_prefix(rank), 0) == 0) || (!is_rank_file && rank == 0)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Why this rank's part of a checkpoint is unusable ("" when it verifies). Sets world_mismatch for a checkpoint of
// another world size (not a fallback case: all checkpoints of the run would have it).
// With any_world, a checkpoint of another world size verifies on rank 0 only, which then checks every file.
std::string checkpoint_verify(const fs::path& folder, int64_t step, int rank, int world_size, bool any_world,
                              std::string& manifest_text, bool& world_mismatch) {
  fs::path manifest_path = folder / k_manifest;
  if (!fs::exists(manifest_path)) return "no MANIFEST.json";
  json manifest;
  try {
    manifest_text = file_read_all(manifest_path);
    manifest = json::parse(manifest_text);
    if (manifest.at("format").get<std::string>() != k_format) return "MANIFEST.json is not an s3editor checkpoint";
    if (manifest.at("version").get<int>() != k_version)
      return fmt::format("MANIFEST.json has version {}, this build reads {}", manifest.at("version").get<int>(), k_version);
    if (manifest.at("step").get<int64_t>() != step) return "MANIFEST.json names another step";
    const bool other_world = manifest.at("world_size").get<int>() != world_size;
    if (other_world && !any_world) {
      world_mismatch = true;
      return fmt::format("written by {} ranks, this job has {}", manifest.at("world_size").get<int>(), world_size);
    }
    for (auto& file : manifest.at("files")) {
      int owner = file.at("rank").get<int>();
      const bool mine = other_world ? rank == 0 : owner == rank || (owner < 0 && rank == 0);
      if (!mine) continue;
      fs::path path = folder / file.at("name").get<std::string>();
      std::error_code ec;
      auto size = fs::file_size(path, ec);
      if (ec) return fmt::format("{} is missing", path.filename().string());
      if (size != file.at("bytes").get<uint64_t>())
        return fmt::format("{} has {} bytes, the manifest says {}", path.filename().string(), size,
                           file.at("bytes").get<uint64_t>());
      if (sha256_file(path) != file.at("sha256").get<std::string>())
        return fmt::format("{} does not match its sha256 in the manifest", path.filename().string());
    }
  } catch (const std::exception& e) {
    return fmt::format("MANIFEST.json is unreadable: {}", e.what());
  }
  return "";
}

}  // namespace

std::string checkpoint_folder_name(int64_t step) { return fmt::format("step_{:08d}", step); }

std::vector<int64_t> checkpoint_list_steps(const fs::path& dir) {
  std::vector<int64_t> steps;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return steps;
  for (auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.rfind("step_", 0) != 0 || name.find('.') != std::string::npos) continue;
    try {
      size_t used = 0;
      int64_t step = std::stoll(name.substr(5), &used);
      if (used == name.size() - 5) steps.push_back(step);
    } catch (const std::exception&) {
    }
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

CheckpointWriter::CheckpointWriter(Communicator& comm, fs::path dir, int64_t step, int keep_last)
    : comm_(comm), dir_(std::move(dir)), step_(step), keep_last_(std::max(1, keep_last)) {
  temp_ = dir_ / (checkpoint_folder_name(step_) + ".tmp");
  std::string error;
  if (comm_.rank() == 0) {
    try {
      file_ensure_writable_dir(dir_);
      fs::remove_all(temp_);
      fs::create_directories(temp_);
    } catch (const std::exception& e) {
      error = fmt::format("cannot create checkpoint folder {}: {}", temp_.string(), e.what());
    }
  }
  // Nobody writes before the folder is fresh (a stale one from a killed attempt would mix in old files).
  error = comm_broadcast_string(comm_, error, 0);
  if (!error.empty()) throw TransientError(error);
}

fs::path CheckpointWriter::rank_path(const std::string& name) const { return temp_ / (rank_prefix(comm_.rank()) + name); }

fs::path CheckpointWriter::shared_path(const std::string& name) const {
  if (comm_.rank() != 0) throw UsageError(fmt::format("checkpoint file {}: only rank 0 writes shared files", name));
  if (name.rfind("rank", 0) == 0 || name == k_manifest || name.empty() || name.find('/') != std::string::npos)
    throw UsageError(fmt::format("checkpoint file name '{}' is reserved or not a plain name", name));
  return temp_ / name;
}

void CheckpointWriter::write_rank_file(const std::string& name, const std::string& bytes) const {
  write_bytes(rank_path(name), bytes);
}

void CheckpointWriter::write_shared_file(const std::string& name, const std::string& bytes) const {
  write_bytes(shared_path(name), bytes);
}

void CheckpointWriter::commit(const std::string& config_text, const std::string& meta_json) {
  if (committed_) throw UsageError(fmt::format("checkpoint step {} committed twice", step_));
  committed_ = true;
  // 1. Each rank makes its files durable and describes them.
  json mine = json::array();
  for (const auto& name : owned_files(temp_, comm_.rank())) {
    fs::path path = temp_ / name;
    file_sync(path);
    mine.push_back({{"name", name}, {"rank", name.rfind("rank", 0) == 0 ? comm_.rank() : -1},
                    {"bytes", fs::file_size(path)}, {"sha256", sha256_file(path)}});
  }
  // 2. The allgather is the barrier: when it returns on rank 0, every rank's files are on disk.
  std::vector<std::string> described = comm_allgather_string(comm_, mine.dump());
  std::string error;
  if (comm_.rank() == 0) {
    try {
      json manifest = {{"format", k_format},         {"version", k_version},
                       {"step", step_},              {"world_size", comm_.size()},
                       {"config", config_text},      {"meta", json::parse(meta_json)},
                       {"files", json::array()}};
      for (auto& text : described) {
        json files = json::parse(text);
        for (auto& file : files) manifest["files"].push_back(file);
      }
      // 3. The manifest goes last into the temporary folder: a folder with a manifest is complete.
      write_bytes(temp_ / k_manifest, manifest.dump(2));
      file_sync(temp_ / k_manifest);
      file_sync_dir(temp_);
      // 4. Publish with one rename. A folder of the same step left by an abandoned run is moved aside first.
      fs::path final_path = dir_ / checkpoint_folder_name(step_);
      fs::path aside = dir_ / (checkpoint_folder_name(step_) + ".old");
      fs::remove_all(aside);
      if (fs::exists(final_path)) fs::rename(final_path, aside);
      fs::rename(temp_, final_path);
      file_sync_dir(dir_);
      file_write_atomic(dir_ / "latest", checkpoint_folder_name(step_) + "\n");
      // 5. Housekeeping: steps after this one belong to an abandoned future; keep the newest keep_last_.
      fs::remove_all(aside);
      std::vector<int64_t> steps = checkpoint_list_steps(dir_);
      std::vector<int64_t> kept;
      for (int64_t s : steps) {
        if (s > step_) fs::remove_all(dir_ / checkpoint_folder_name(s));
        else kept.push_back(s);
      }
      for (size_t i = 0; i + keep_last_ < kept.size(); ++i) fs::remove_all(dir_ / checkpoint_folder_name(kept[i]));
      for (auto& entry : fs::directory_iterator(dir_)) {
        std::string name = entry.path().filename().string();
        if (entry.is_directory() && name.rfind("step_", 0) == 0 && name.size() > 4 &&
            name.substr(name.size() - 4) == ".tmp")
          fs::remove_all(entry.path());
      }
    } catch (const std::exception& e) {
      error = fmt::format("publishing checkpoint step {} in {} failed: {}", step_, dir_.string(), e.what());
    }
  }
  // 6. Everyone learns whether the step was published, so no rank goes on believing in a checkpoint that is not.
  error = comm_broadcast_string(comm_, error, 0);
  if (!error.empty()) throw TransientError(error);
}

Checkpoint::Checkpoint(fs::path folder, int64_t step, int rank, std::string manifest_json)
    : folder_(std::move(folder)), step_(step), rank_(rank), manifest_(std::move(manifest_json)) {}

fs::path Checkpoint::rank_path(const std::string& name) const { return folder_ / (rank_prefix(rank_) + name); }
fs::path Checkpoint::shared_path(const std::string& name) const { return folder_ / name; }

namespace {
std::string read_listed(const std::string& manifest_text, const fs::path& path) {
  std::string name = path.filename().string();
  json manifest = json::parse(manifest_text);  // named: a temporary would die before the loop body runs
  for (auto& file : manifest.at("files"))
    if (file.at("name").get<std::string>() == name) return file_read_all(path);
  throw DataError(fmt::format("{}: not part of checkpoint {}", name, path.parent_path().string()));
}
}  // namespace

std::string Checkpoint::read_rank_file(const std::string& name) const {
  if (writer_world_size() <= rank_)
    throw UsageError(fmt::format("checkpoint {} was written by {} ranks: rank {} has no files of its own there",
                                 folder_.string(), writer_world_size(), rank_));
  return read_listed(manifest_, rank_path(name));
}
std::string Checkpoint::read_rank_file_of(int writer_rank, const std::string& name) const {
  return read_listed(manifest_, folder_ / (rank_prefix(writer_rank) + name));
}
int Checkpoint::writer_world_size() const { return json::parse(manifest_).at("world_size").get<int>(); }
std::string Checkpoint::read_shared_file(const std::string& name) const {
  return read_listed(manifest_, shared_path(name));
}
std::string Checkpoint::config() const { return json::parse(manifest_).at("config").get<std::string>(); }
std::string Checkpoint::meta_json() const { return json::parse(manifest_).at("meta").dump(); }

std::optional<Checkpoint> checkpoint_open_latest(Communicator& comm, const fs::path& dir, CheckpointWorld world) {
  // Rank 0 lists the candidates so that every rank walks the same list, newest first.
  std::string listing;
  if (comm.rank() == 0) listing = json(checkpoint_list_steps(dir)).dump();
  std::vector<int64_t> steps = json::parse(comm_broadcast_string(comm, listing, 0)).get<std::vector<int64_t>>();
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    fs::path folder = dir / checkpoint_folder_name(*it);
    std::string manifest;
    bool world_mismatch = false;
    std::string reason = checkpoint_verify(folder, *it, comm.rank(), comm.size(), world == CheckpointWorld::any,
                                           manifest, world_mismatch);
    // Agreement: a checkpoint is used only if it verifies on every rank.
    int64_t verdict = comm_allreduce_int64(comm, world_mismatch ? 2 : reason.empty() ? 0 : 1, ReduceOp::max);
    if (verdict == 0) return Checkpoint(folder, *it, comm.rank(), manifest);
    std::vector<std::string> reasons = comm_allgather_string(comm, reason);
    std::string all;
    for (size_t r = 0; r < reasons.size(); ++r)
      if (!reasons[r].empty()) all += fmt::format("{}rank {}: {}", all.empty() ? "" : "; ", r, reasons[r]);
    if (verdict == 2)
      throw UsageError(fmt::format("checkpoint {} cannot be resumed by this job ({}); rerun with the same number of "
                                   "ranks or with --fresh",
                                   folder.string(), all));
    if (comm.rank() == 0)
      spdlog::warn("checkpoint {} is incomplete or corrupt ({}); falling back to the previous one", folder.string(), all);
  }
  return std::nullopt;
}

}  // namespace s3e
