#include "store/h5_util.h"

#include <fmt/format.h>

#include "core/errors.h"

namespace s3e {

void H5Id::reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    default: H5Idec_ref(id_); break;
  }
  id_ = H5I_INVALID_HID;
}

void h5_quiet() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

namespace {
herr_t collect_error(unsigned n, const H5E_error2_t* err, void* data) {
  auto* out = static_cast<std::string*>(data);
  // The innermost entries (n large) carry the most specific reason; keep the last two distinct ones.
  std::string msg = err->desc ? err->desc : "";
  if (!msg.empty() && out->find(msg) == std::string::npos) *out = out->empty() ? msg : msg + "; " + *out;
  return 0;
}
}  // namespace

std::string h5_error_text() {
  std::string text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_error, &text);
  H5Eclear2(H5E_DEFAULT);
  return text.empty() ? "unknown HDF5 error" : text;
}

hid_t h5_check(hid_t id, const std::string& file, const std::string& what) {
  if (id < 0) throw DataError(fmt::format("{}: {}: {}", file, what, h5_error_text()));
  return id;
}

H5Id h5_file_create_plist() {
  H5Id plist(H5Pcreate(H5P_FILE_CREATE));
  H5Pset_obj_track_times(plist, 0);  // the root group carries no timestamps
  return plist;
}

H5Id h5_dataset_create_plist() {
  H5Id plist(H5Pcreate(H5P_DATASET_CREATE));
  H5Pset_obj_track_times(plist, 0);
  return plist;
}

H5Id h5_string_type() {
  H5Id type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  return type;
}

void h5_attr_write_string(hid_t obj, const std::string& name, const std::string& value) {
  H5Id type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  H5Id space(H5Screate(H5S_SCALAR));
  if (H5Aexists(obj, name.c_str()) > 0) H5Adelete(obj, name.c_str());
  H5Id attr(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT));
  const char* ptr = value.c_str();
  if (!attr.valid() || H5Awrite(attr, type, &ptr) < 0)
    throw TransientError("cannot write HDF5 attribute " + name + ": " + h5_error_text());
}

void h5_attr_write_int64s(hid_t obj, const std::string& name, const std::vector<int64_t>& values) {
  hsize_t n = values.size();
  H5Id space(n ? H5Screate_simple(1, &n, nullptr) : H5Screate(H5S_NULL));
  if (H5Aexists(obj, name.c_str()) > 0) H5Adelete(obj, name.c_str());
  H5Id attr(H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid() || (n && H5Awrite(attr, H5T_NATIVE_INT64, values.data()) < 0))
    throw TransientError("cannot write HDF5 attribute " + name + ": " + h5_error_text());
}

bool h5_attr_exists(hid_t obj, const std::string& name) { return H5Aexists(obj, name.c_str()) > 0; }

std::string h5_attr_read_string(hid_t obj, const std::string& name, const std::string& file) {
  if (!h5_attr_exists(obj, name)) throw DataError(fmt::format("{}: attribute '{}' is missing", file, name));
  H5Id attr(h5_check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), file, "open attribute " + name));
  H5Id type(H5Aget_type(attr));
  if (H5Tget_class(type) != H5T_STRING) throw DataError(fmt::format("{}: attribute '{}' is not a string", file, name));
  H5Id space(H5Aget_space(attr));
  if (H5Sget_simple_extent_npoints(space) != 1)
    throw DataError(fmt::format("{}: attribute '{}' is not a single string", file, name));
  if (H5Tis_variable_str(type) > 0) {
    H5Id mem = h5_string_type();
    char* ptr = nullptr;
    h5_check(H5Aread(attr, mem, &ptr), file, "read attribute " + name);
    std::string value = ptr ? ptr : "";
    H5free_memory(ptr);
    return value;
  }
  size_t size = H5Tget_size(type);
  std::string value(size, '\0');
  h5_check(H5Aread(attr, type, value.data()), file, "read attribute " + name);
  return value.substr(0, value.find('\0'));
}

std::vector<int64_t> h5_attr_read_int64s(hid_t obj, const std::string& name, const std::string& file) {
  if (!h5_attr_exists(obj, name)) throw DataError(fmt::format("{}: attribute '{}' is missing", file, name));
  H5Id attr(h5_check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), file, "open attribute " + name));
  H5Id type(H5Aget_type(attr));
  if (H5Tget_class(type) != H5T_INTEGER) throw DataError(fmt::format("{}: attribute '{}' is not integer", file, name));
  H5Id space(H5Aget_space(attr));
  hssize_t n = H5Sget_simple_extent_npoints(space);
  std::vector<int64_t> values(n > 0 ? n : 0);
  if (n > 0) h5_check(H5Aread(attr, H5T_NATIVE_INT64, values.data()), file, "read attribute " + name);
  return values;
}

void h5_write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& values) {
  H5Id type = h5_string_type();
  hsize_t n = values.size();
  H5Id space(H5Screate_simple(1, &n, nullptr));
  H5Id dcpl = h5_dataset_create_plist();
  H5Id ds(H5Dcreate2(loc, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  std::vector<const char*> ptrs;
  for (auto& v : values) ptrs.push_back(v.c_str());
  if (!ds.valid() || (n && H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0))
    throw TransientError("cannot write HDF5 dataset " + name + ": " + h5_error_text());
}

std::vector<std::string> h5_read_strings(hid_t loc, const std::string& name, const std::string& file) {
  H5Id ds(h5_check(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), file, "open dataset " + name));
  H5Id ftype(H5Dget_type(ds));
  if (H5Tget_class(ftype) != H5T_STRING) throw DataError(fmt::format("{}: dataset '{}' is not strings", file, name));
  auto shape = h5_dataset_shape(ds);
  if (shape.size() != 1) throw DataError(fmt::format("{}: dataset '{}' is not 1-D", file, name));
  std::vector<std::string> out(shape[0]);
  if (shape[0] == 0) return out;
  if (H5Tis_variable_str(ftype) > 0) {
    H5Id mem = h5_string_type();
    std::vector<char*> ptrs(shape[0], nullptr);
    h5_check(H5Dread(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), file, "read " + name);
    for (size_t i = 0; i < ptrs.size(); ++i) out[i] = ptrs[i] ? ptrs[i] : "";
    H5Id space(H5Dget_space(ds));
    H5Dvlen_reclaim(mem, space, H5P_DEFAULT, ptrs.data());
  } else {
    size_t size = H5Tget_size(ftype);
    std::vector<char> buf(size * shape[0]);
    h5_check(H5Dread(ds, ftype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), file, "read " + name);
    for (size_t i = 0; i < out.size(); ++i) {
      std::string s(buf.data() + i * size, size);
      out[i] = s.substr(0, s.find('\0'));
    }
  }
  return out;
}

bool h5_link_exists(hid_t loc, const std::string& path) {
  // Check each component: H5Lexists fails (rather than returning false) when a parent group is missing.
  size_t pos = 0;
  while (true) {
    size_t next = path.find('/', pos);
    std::string prefix = path.substr(0, next);
    if (H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (next == std::string::npos) return true;
    pos = next + 1;
  }
}

std::vector<int64_t> h5_dataset_shape(hid_t dataset) {
  H5Id space(H5Dget_space(dataset));
  int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(rank > 0 ? rank : 0);
  if (rank > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return std::vector<int64_t>(dims.begin(), dims.end());
}

}  // namespace s3e
