#include "core/build_info.h"

#include "build_info_generated.h"  // S3E_GIT_COMMIT, written at every build by cmake/build_info.cmake

namespace s3e {

const char* build_version() { return S3E_VERSION; }
const char* build_git_commit() { return S3E_GIT_COMMIT; }

}  // namespace s3e
