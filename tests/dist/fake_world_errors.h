// fake_world_errors.h — the message of an exception a FakeWorld rank ended with ("" when it ended normally), so
// tests can compare every rank's outcome in one EXPECT.
#pragma once
#include <exception>
#include <string>

namespace s3e::test {

inline std::string what_of(const std::exception_ptr& e) {
  try {
    if (e) std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  }
  return "";
}

}  // namespace s3e::test
