#include "core/errors.h"

namespace s3e {

int exit_code_of(const std::exception& e) {
  if (auto* err = dynamic_cast<const Error*>(&e)) return static_cast<int>(err->code());
  return static_cast<int>(ExitCode::failure);
}

}  // namespace s3e
