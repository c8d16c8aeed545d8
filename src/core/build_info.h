// build_info.h — what a run records about the program that made it (run manifests, docs/operations.md): the
// version of the project and the git commit the binary was built from (taken at build time; "-dirty" when the tree
// had uncommitted changes, "unknown" outside a git checkout).
#pragma once

namespace s3e {

const char* build_version();     // "0.1.0"
const char* build_git_commit();  // 40 hex digits, maybe with "-dirty"; or "unknown"

}  // namespace s3e
