// checkpoint.h — crash-safe, multi-rank checkpoints (torch-free: callers write the files, e.g. with torch::save).
//
// Layout under the checkpoint folder D:
//   D/step_00000400/                 a published checkpoint: never modified after publication
//       rank00000.<name> ...         per-rank files (optimizer shards, RNG and sampler state of every rank)
//       <name> ...                   shared files written by rank 0 (weights, cluster assignments, masks as HDF5)
//       MANIFEST.json                step, world size, effective config, caller metadata, size + sha256 of each file
//   D/latest                         "step_00000400": the newest published step, for tools and people
//
// Commit protocol (why each step is there): every rank writes into D/step_N.tmp/ and fsyncs its files, so that
// a crash can only ever leave a *.tmp folder; the allgather of file hashes doubles as the barrier that tells rank 0
// every rank is done; rank 0 writes the manifest last, inside the temporary folder, then renames the folder to
// step_N (one atomic rename publishes all files at once) and replaces `latest` atomically. A process killed at any
// point leaves either the previous checkpoint or the new complete one.
// Resume: the newest published step whose manifest and files verify on every rank (each rank hashes its own
// files, rank 0 the shared ones) is agreed on with an allreduce; an incomplete or corrupt one is skipped with a
// warning, falling back to the previous one.
// Another rank count (CheckpointWorld::any, for callers whose state does not depend on it, e.g. training with a
// fixed global batch): rank 0 verifies every file, the per-rank files of the writer's ranks included, and each
// rank reads the writer rank's files it needs with read_rank_file_of.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dist/communicator.h"

namespace s3e {

class CheckpointWriter {
 public:
  // Collective. Rank 0 (re)creates D/step_N.tmp/ (left over from a killed attempt or not) before anyone writes.
  CheckpointWriter(Communicator& comm, std::filesystem::path dir, int64_t step, int keep_last = 3);

  int64_t step() const { return step_; }
  // Where this rank writes its file `name` (stored as rankRRRRR.<name>); write it with anything.
  std::filesystem::path rank_path(const std::string& name) const;
  // Where rank 0 writes a file shared by all ranks (weights, extras such as HDF5 masks). Other ranks may not.
  std::filesystem::path shared_path(const std::string& name) const;
  void write_rank_file(const std::string& name, const std::string& bytes) const;
  void write_shared_file(const std::string& name, const std::string& bytes) const;

  // Collective: fsync + hash every file, write the manifest, publish step_N and `latest`, keep the newest
  // `keep_last` steps. `config_text` is the effective config; `meta_json` a JSON object of the caller's.
  // Published steps newer than N (an abandoned future after a fallback) are removed. Throws on every rank when
  // publishing failed on rank 0.
  void commit(const std::string& config_text, const std::string& meta_json = "{}");

 private:
  Communicator& comm_;
  std::filesystem::path dir_, temp_;
  int64_t step_;
  int keep_last_;
  bool committed_ = false;
};

class Checkpoint {
 public:
  Checkpoint(std::filesystem::path folder, int64_t step, int rank, std::string manifest_json);
  int64_t step() const { return step_; }
  const std::filesystem::path& folder() const { return folder_; }
  std::filesystem::path rank_path(const std::string& name) const;
  std::filesystem::path shared_path(const std::string& name) const;
  // Read a file listed in the manifest; throws DataError when it is not listed.
  std::string read_rank_file(const std::string& name) const;
  // A per-rank file written by rank `writer_rank` of the job that wrote the checkpoint (any rank may read it).
  std::string read_rank_file_of(int writer_rank, const std::string& name) const;
  int writer_world_size() const;  // ranks of the job that wrote it
  std::string read_shared_file(const std::string& name) const;
  std::string config() const;     // the effective config of the run that wrote it
  std::string meta_json() const;  // the caller's metadata object
  const std::string& manifest_json() const { return manifest_; }

 private:
  std::filesystem::path folder_;
  int64_t step_;
  int rank_;
  std::string manifest_;
};

enum class CheckpointWorld { same, any };

// Collective: the newest checkpoint under `dir` that verifies on every rank, or nullopt when there is none.
// With CheckpointWorld::same, throws UsageError when it was written by a different number of ranks.
std::optional<Checkpoint> checkpoint_open_latest(Communicator& comm, const std::filesystem::path& dir,
                                                 CheckpointWorld world = CheckpointWorld::same);

// Published steps under `dir` (folders step_N with a manifest or not), ascending. No verification.
std::vector<int64_t> checkpoint_list_steps(const std::filesystem::path& dir);
std::string checkpoint_folder_name(int64_t step);  // "step_00000400"

}  // namespace s3e
