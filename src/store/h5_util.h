// h5_util.h — thin RAII and error helpers over the HDF5 C API: owned ids that close themselves, the library's
// error stack turned into one readable message, and attribute read/write for strings and integer arrays.
// Every object is created with time tracking off, so equal inputs give byte-identical files.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace s3e {

// An owned HDF5 id (file, group, dataset, dataspace, datatype, property list, attribute).
class H5Id {
 public:
  H5Id() = default;
  explicit H5Id(hid_t id) : id_(id) {}
  ~H5Id() { reset(); }
  H5Id(H5Id&& o) noexcept : id_(o.id_) { o.id_ = H5I_INVALID_HID; }
  H5Id& operator=(H5Id&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      o.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// Switches off HDF5's automatic error printing (we report errors ourselves); call once per process.
void h5_quiet();

// The innermost messages of the current HDF5 error stack, e.g. "file signature not found".
std::string h5_error_text();

// Checks an HDF5 return value; throws DataError "<file>: <what>: <hdf5 reason>" when negative.
hid_t h5_check(hid_t id, const std::string& file, const std::string& what);

// Property lists with object time tracking switched off (reproducible bytes).
H5Id h5_file_create_plist();
H5Id h5_dataset_create_plist();

void h5_attr_write_string(hid_t obj, const std::string& name, const std::string& value);
void h5_attr_write_int64s(hid_t obj, const std::string& name, const std::vector<int64_t>& values);
bool h5_attr_exists(hid_t obj, const std::string& name);
std::string h5_attr_read_string(hid_t obj, const std::string& name, const std::string& file);
std::vector<int64_t> h5_attr_read_int64s(hid_t obj, const std::string& name, const std::string& file);

// A variable-length UTF-8 string type (what h5py reads as str).
H5Id h5_string_type();

// Writes/reads a 1-D dataset of variable-length UTF-8 strings.
void h5_write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& values);
std::vector<std::string> h5_read_strings(hid_t loc, const std::string& name, const std::string& file);

bool h5_link_exists(hid_t loc, const std::string& path);
std::vector<int64_t> h5_dataset_shape(hid_t dataset);

}  // namespace s3e
