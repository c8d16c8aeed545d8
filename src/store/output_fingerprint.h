// output_fingerprint.h — how a stage knows its HDF5 output is already done (resume): the output carries a
// fingerprint attribute (the stage's config without run.threads/run.log_level, the rank count, and each input's
// path, size and modification time); a rerun with the same fingerprint skips the work, anything else redoes it.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "core/config.h"

namespace s3e {

// `excluded_keys`: keys that only change how a run goes, not what it writes (e.g. a test's slow-down delay).
std::string output_fingerprint(const Config& config, int world_size, const std::vector<std::string>& inputs,
                               const std::vector<std::string>& excluded_keys = {});

// True when `path` opens as a valid file of `schema` whose "fingerprint" attribute equals `fingerprint`.
bool output_is_current(const std::filesystem::path& path, const std::string& schema, const std::string& fingerprint);

}  // namespace s3e
