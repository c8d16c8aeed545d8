#include <fmt/format.h>

#include "core/errors.h"
#include "dist/comm_mpi.h"
#include "dist/communicator.h"
#ifdef S3E_HAVE_NCCL
#include "dist/comm_nccl.h"
#endif

namespace s3e {

std::vector<std::string> comm_backends_available() {
#ifdef S3E_HAVE_NCCL
  return {"mpi", "nccl"};
#else
  return {"mpi"};
#endif
}

std::unique_ptr<Communicator> comm_create(const std::string& backend, const CommOptions& options) {
  if (backend == "mpi") return std::make_unique<MpiCommunicator>(options);
#ifdef S3E_HAVE_NCCL
  if (backend == "nccl") return nccl_communicator_create(options);
#endif
  throw UsageError(fmt::format("communicator backend '{}' is not available in this build (available: {})", backend,
                               fmt::join(comm_backends_available(), ", ")));
}

}  // namespace s3e
