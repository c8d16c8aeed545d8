// file_util.h — atomic output files: write under a temporary name in the same folder, fsync, rename when complete,
// so that a killed process never leaves a partial file under a final name.
#pragma once
#include <filesystem>
#include <string>

namespace s3e {

// "<dir>/.<name>.tmp.<pid>" — hidden, unique per process, same filesystem as the final path (rename is atomic).
std::filesystem::path file_temp_path(const std::filesystem::path& final_path);

// fsync a file (and, for durability of the rename, its parent folder). Throws TransientError on failure.
void file_sync(const std::filesystem::path& path);
void file_sync_dir(const std::filesystem::path& dir);

// fsyncs `temp_path`, renames it onto `final_path` and fsyncs the folder.
void file_commit(const std::filesystem::path& temp_path, const std::filesystem::path& final_path);

// Writes `text` to `path` atomically.
void file_write_atomic(const std::filesystem::path& path, const std::string& text);

// Checks that `dir` exists (creating it) and is writable; throws UsageError naming it otherwise.
void file_ensure_writable_dir(const std::filesystem::path& dir);

// Reads a whole (small) file; throws DataError naming it when it cannot be read.
std::string file_read_all(const std::filesystem::path& path);

}  // namespace s3e
