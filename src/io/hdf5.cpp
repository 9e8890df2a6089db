#include "io/hdf5.hpp"

#include "core/errors.hpp"

#include <hdf5_hl.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <utility>

namespace icl::h5 {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& action) {
  throw IoError(what + ": " + action + " failed");
}

void check(herr_t status, const std::string& what, const std::string& action) {
  if (status < 0) fail(what, action);
}

std::string child_path(const Handle& parent, const std::string& name) {
  std::string path = parent.what();
  if (!path.empty() && path.back() != '/' && path.back() != ':') path += '/';
  path += name;
  return path;
}

Handle make_simple_space(hsize_t size, const std::string& what) {
  const hsize_t dims[1] = {size};
  const hid_t space = H5Screate_simple(1, dims, nullptr);
  if (space < 0) fail(what, "creating a dataspace");
  return Handle(space, H5Sclose, what);
}

Handle string_type(const std::string& what) {
  const hid_t type = H5Tcopy(H5T_C_S1);
  if (type < 0) fail(what, "copying the string type");
  Handle handle(type, H5Tclose, what);
  check(H5Tset_size(type, H5T_VARIABLE), what, "setting a variable string size");
  check(H5Tset_cset(type, H5T_CSET_UTF8), what, "setting UTF-8");
  return handle;
}

/// A fixed-length UTF-8 string of `width` bytes, NUL-padded (shorter values end at their first
/// NUL).
Handle fixed_string_type(std::size_t width, const std::string& what) {
  const hid_t type = H5Tcopy(H5T_C_S1);
  if (type < 0) fail(what, "copying the string type");
  Handle handle(type, H5Tclose, what);
  check(H5Tset_size(type, width), what, "setting the string width");
  check(H5Tset_strpad(type, H5T_STR_NULLPAD), what, "setting NUL padding");
  check(H5Tset_cset(type, H5T_CSET_UTF8), what, "setting UTF-8");
  return handle;
}

template <typename T>
void write_simple(const Handle& parent, const std::string& name, const std::vector<T>& values,
                  hid_t file_type, hid_t memory_type) {
  const std::string what = child_path(parent, name);
  Handle space = make_simple_space(values.size(), what);
  const hid_t dataset = H5Dcreate2(parent.id(), name.c_str(), file_type, space.id(), H5P_DEFAULT,
                                   H5P_DEFAULT, H5P_DEFAULT);
  if (dataset < 0) fail(what, "creating the dataset");
  Handle handle(dataset, H5Dclose, what);
  if (!values.empty())
    check(H5Dwrite(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), what,
          "writing");
}

std::vector<hsize_t> dataset_dims(const Handle& dataset) {
  Handle space(H5Dget_space(dataset.id()), H5Sclose, dataset.what());
  if (space.id() < 0) fail(dataset.what(), "reading the dataspace");
  const int rank = H5Sget_simple_extent_ndims(space.id());
  if (rank < 0) fail(dataset.what(), "reading the rank");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0) H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr);
  return dims;
}

template <typename T>
std::vector<T> read_simple(const Handle& parent, const std::string& name, hid_t memory_type) {
  Handle dataset = open_dataset(parent, name);
  const auto dims = dataset_dims(dataset);
  if (dims.size() != 1) throw ConfigError(dataset.what() + ": expected a 1-D dataset");
  std::vector<T> values(dims[0]);
  if (!values.empty())
    check(H5Dread(dataset.id(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
          dataset.what(), "reading (expected a numeric dataset)");
  return values;
}

Handle open_attribute(const Handle& object, const std::string& name) {
  const std::string what = object.what() + "@" + name;
  if (!has_attribute(object, name)) throw ConfigError(what + ": attribute missing");
  const hid_t attribute = H5Aopen(object.id(), name.c_str(), H5P_DEFAULT);
  if (attribute < 0) fail(what, "opening the attribute");
  return Handle(attribute, H5Aclose, what);
}

void write_scalar_attribute(const Handle& object, const std::string& name, hid_t type,
                            const void* value) {
  const std::string what = object.what() + "@" + name;
  if (has_attribute(object, name)) check(H5Adelete(object.id(), name.c_str()), what, "replacing");
  Handle space(H5Screate(H5S_SCALAR), H5Sclose, what);
  const hid_t attribute =
      H5Acreate2(object.id(), name.c_str(), type, space.id(), H5P_DEFAULT, H5P_DEFAULT);
  if (attribute < 0) fail(what, "creating the attribute");
  Handle handle(attribute, H5Aclose, what);
  check(H5Awrite(attribute, type, value), what, "writing the attribute");
}

}  // namespace

Handle::Handle(hid_t id, Closer closer, std::string what)
    : id_(id), closer_(closer), what_(std::move(what)) {}

Handle::Handle(Handle&& other) noexcept
    : id_(std::exchange(other.id_, H5I_INVALID_HID)),
      closer_(other.closer_),
      what_(std::move(other.what_)) {}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = std::exchange(other.id_, H5I_INVALID_HID);
    closer_ = other.closer_;
    what_ = std::move(other.what_);
  }
  return *this;
}

Handle::~Handle() {
  reset();
}

void Handle::reset() noexcept {
  if (id_ >= 0 && closer_ != nullptr) closer_(id_);  // a destructor never throws
  id_ = H5I_INVALID_HID;
}

void silence_library_errors() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

Handle create_file(const std::string& path, hsize_t userblock_bytes) {
  silence_library_errors();
  Handle creation(H5Pcreate(H5P_FILE_CREATE), H5Pclose, path);
  Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, path);
  if (creation.id() < 0 || access.id() < 0) fail(path, "creating property lists");
  if (userblock_bytes > 0)
    check(H5Pset_userblock(creation.id(), userblock_bytes), path, "reserving the user block");
  // Our files are private temporaries until they are renamed into place, and the output as a whole
  // is locked by OutputLock; HDF5's own flock() only gets in the way on NFS and Lustre, where it
  // often fails.
  check(H5Pset_file_locking(access.id(), false, true), path, "switching off HDF5's file locking");
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, creation.id(), access.id());
  if (file < 0)
    throw IoError(path + ": cannot create the file (check the folder and its permissions)");
  return Handle(file, H5Fclose, path + ":");
}

Handle open_file_image(const std::uint8_t* image, std::size_t size, const std::string& name) {
  silence_library_errors();
  Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, name);
  if (access.id() < 0) fail(name, "creating a property list");
  // The core driver without a backing store: HDF5 works on its own copy of the bytes.
  check(H5Pset_fapl_core(access.id(), 1 << 16, false), name, "choosing the in-memory driver");
  check(H5Pset_file_image(access.id(), const_cast<std::uint8_t*>(image), size), name,
        "handing over the file image");
  // HDF5 refuses an image named like a file that exists on disk ("file already exists"): the
  // name it sees is one no file can have; ours goes into the messages.
  const std::string image_name =
      "/nonexistent/icl-study-image-" + std::to_string(reinterpret_cast<std::uintptr_t>(image));
  const hid_t file = H5Fopen(image_name.c_str(), H5F_ACC_RDONLY, access.id());
  if (file < 0) throw ConfigError(name + ": damaged HDF5 file (cannot be opened)");
  return Handle(file, H5Fclose, name + ":");
}

Handle create_group(const Handle& parent, const std::string& name) {
  const std::string what = child_path(parent, name);
  const hid_t group = H5Gcreate2(parent.id(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (group < 0) fail(what, "creating the group");
  return Handle(group, H5Gclose, what);
}

Handle open_group(const Handle& parent, const std::string& name) {
  const std::string what = child_path(parent, name);
  if (!exists(parent, name)) throw ConfigError(what + ": missing (not an icl-study result file?)");
  const hid_t group = H5Gopen2(parent.id(), name.c_str(), H5P_DEFAULT);
  if (group < 0) fail(what, "opening the group");
  return Handle(group, H5Gclose, what);
}

bool exists(const Handle& parent, const std::string& name) {
  return H5Lexists(parent.id(), name.c_str(), H5P_DEFAULT) > 0;
}

std::vector<std::string> list_children(const Handle& group) {
  H5G_info_t info;
  check(H5Gget_info(group.id(), &info), group.what(), "listing the group");
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t size =
        H5Lget_name_by_idx(group.id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (size < 0) fail(group.what(), "reading a link name");
    std::string name(static_cast<std::size_t>(size), '\0');
    H5Lget_name_by_idx(group.id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size() + 1,
                       H5P_DEFAULT);
    names.push_back(std::move(name));
  }
  return names;
}

void write_doubles(const Handle& parent, const std::string& name,
                   const std::vector<double>& values) {
  write_simple(parent, name, values, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE);
}
void write_integers(const Handle& parent, const std::string& name,
                    const std::vector<std::int64_t>& values) {
  write_simple(parent, name, values, H5T_STD_I64LE, H5T_NATIVE_INT64);
}
void write_bytes(const Handle& parent, const std::string& name,
                 const std::vector<std::uint8_t>& values) {
  write_simple(parent, name, values, H5T_STD_U8LE, H5T_NATIVE_UINT8);
}

void write_strings(const Handle& parent, const std::string& name,
                   const std::vector<std::string>& values) {
  const std::string what = child_path(parent, name);
  // Fixed-length, NUL-padded to the longest value: a table column of a million short strings
  // is then one contiguous block (variable-length strings cost a global-heap object each, about
  // 40 bytes of overhead per value, and made the strings most of a large file's size and write
  // time). Readers accept both layouts (files written before this are variable-length).
  std::size_t width = 1;
  for (const auto& value : values) width = std::max(width, value.size());
  Handle type = fixed_string_type(width, what);
  std::vector<char> block(values.size() * width, '\0');
  for (std::size_t i = 0; i < values.size(); ++i)
    std::copy(values[i].begin(), values[i].end(), block.begin() + i * width);
  Handle space = make_simple_space(values.size(), what);
  const hid_t dataset = H5Dcreate2(parent.id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT,
                                   H5P_DEFAULT, H5P_DEFAULT);
  if (dataset < 0) fail(what, "creating the dataset");
  Handle handle(dataset, H5Dclose, what);
  if (!values.empty())
    check(H5Dwrite(dataset, type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, block.data()), what,
          "writing");
}

void write_matrix(const Handle& parent, const std::string& name, const Eigen::MatrixXd& matrix) {
  const std::string what = child_path(parent, name);
  // Row-major copy: HDF5 (and NumPy through h5py) read the first index as the row.
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> row_major = matrix;
  const hsize_t dims[2] = {static_cast<hsize_t>(matrix.rows()),
                           static_cast<hsize_t>(matrix.cols())};
  Handle space(H5Screate_simple(2, dims, nullptr), H5Sclose, what);
  if (space.id() < 0) fail(what, "creating a dataspace");
  const hid_t dataset = H5Dcreate2(parent.id(), name.c_str(), H5T_IEEE_F64LE, space.id(),
                                   H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (dataset < 0) fail(what, "creating the dataset");
  Handle handle(dataset, H5Dclose, what);
  if (row_major.size() > 0)
    check(H5Dwrite(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, row_major.data()),
          what, "writing");
}

Handle open_dataset(const Handle& parent, const std::string& name) {
  const std::string what = child_path(parent, name);
  if (!exists(parent, name)) throw ConfigError(what + ": missing (not an icl-study result file?)");
  const hid_t dataset = H5Dopen2(parent.id(), name.c_str(), H5P_DEFAULT);
  if (dataset < 0) fail(what, "opening the dataset");
  return Handle(dataset, H5Dclose, what);
}

void make_dimension_scale(const Handle& scale, const std::string& dimension) {
  check(H5DSset_scale(scale.id(), dimension.c_str()), scale.what(), "making a dimension scale");
}

void attach_dimension_scale(const Handle& dataset, const Handle& scale) {
  check(H5DSattach_scale(dataset.id(), scale.id(), 0), dataset.what(),
        "attaching the dimension scale " + scale.what());
}

std::vector<double> read_doubles(const Handle& parent, const std::string& name) {
  return read_simple<double>(parent, name, H5T_NATIVE_DOUBLE);
}
std::vector<std::int64_t> read_integers(const Handle& parent, const std::string& name) {
  return read_simple<std::int64_t>(parent, name, H5T_NATIVE_INT64);
}
std::vector<std::uint8_t> read_bytes(const Handle& parent, const std::string& name) {
  return read_simple<std::uint8_t>(parent, name, H5T_NATIVE_UINT8);
}

std::vector<std::string> read_strings(const Handle& parent, const std::string& name) {
  Handle dataset = open_dataset(parent, name);
  const auto dims = dataset_dims(dataset);
  if (dims.size() != 1) throw ConfigError(dataset.what() + ": expected a 1-D dataset");
  Handle stored(H5Dget_type(dataset.id()), H5Tclose, dataset.what());
  if (stored.id() < 0) fail(dataset.what(), "reading the type");
  if (H5Tget_class(stored.id()) != H5T_STRING)
    throw ConfigError(dataset.what() + ": expected strings (damaged file?)");
  std::vector<std::string> values;
  if (dims[0] == 0) return values;
  values.reserve(dims[0]);
  if (H5Tis_variable_str(stored.id()) > 0) {  // files written before fixed-length columns
    Handle type = string_type(dataset.what());
    std::vector<char*> pointers(dims[0], nullptr);
    check(H5Dread(dataset.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()),
          dataset.what(), "reading (expected strings)");
    for (char* pointer : pointers) values.emplace_back(pointer ? pointer : "");
    Handle space(H5Dget_space(dataset.id()), H5Sclose, dataset.what());
    H5Dvlen_reclaim(type.id(), space.id(), H5P_DEFAULT, pointers.data());
    return values;
  }
  const std::size_t width = H5Tget_size(stored.id());
  if (width == 0) fail(dataset.what(), "reading the string width");
  Handle type = fixed_string_type(width, dataset.what());
  std::vector<char> block(dims[0] * width);
  check(H5Dread(dataset.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, block.data()),
        dataset.what(), "reading (expected strings)");
  for (std::size_t i = 0; i < dims[0]; ++i) {
    const char* start = block.data() + i * width;
    values.emplace_back(start, std::find(start, start + width, '\0'));
  }
  return values;
}

Eigen::MatrixXd read_matrix(const Handle& parent, const std::string& name) {
  Handle dataset = open_dataset(parent, name);
  const auto dims = dataset_dims(dataset);
  if (dims.size() != 2) throw ConfigError(dataset.what() + ": expected a 2-D dataset");
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> row_major(
      static_cast<Eigen::Index>(dims[0]), static_cast<Eigen::Index>(dims[1]));
  if (row_major.size() > 0)
    check(H5Dread(dataset.id(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, row_major.data()),
          dataset.what(), "reading");
  return row_major;
}

void write_attribute(const Handle& object, const std::string& name, const std::string& value) {
  const std::string what = object.what() + "@" + name;
  Handle type = string_type(what);
  const char* pointer = value.c_str();
  write_scalar_attribute(object, name, type.id(), &pointer);
}
void write_attribute(const Handle& object, const std::string& name,
                     const std::vector<std::int64_t>& values) {
  const std::string what = object.what() + "@" + name;
  if (has_attribute(object, name)) check(H5Adelete(object.id(), name.c_str()), what, "replacing");
  Handle space = make_simple_space(values.size(), what);
  const hid_t attribute =
      H5Acreate2(object.id(), name.c_str(), H5T_STD_I64LE, space.id(), H5P_DEFAULT, H5P_DEFAULT);
  if (attribute < 0) fail(what, "creating the attribute");
  Handle handle(attribute, H5Aclose, what);
  if (!values.empty())
    check(H5Awrite(attribute, H5T_NATIVE_INT64, values.data()), what, "writing the attribute");
}

void write_attribute(const Handle& object, const std::string& name, std::int64_t value) {
  write_scalar_attribute(object, name, H5T_NATIVE_INT64, &value);
}
void write_attribute(const Handle& object, const std::string& name, double value) {
  write_scalar_attribute(object, name, H5T_NATIVE_DOUBLE, &value);
}

bool has_attribute(const Handle& object, const std::string& name) {
  return H5Aexists(object.id(), name.c_str()) > 0;
}

bool has_child(const Handle& group, const std::string& name) {
  return H5Lexists(group.id(), name.c_str(), H5P_DEFAULT) > 0;
}

std::string read_string_attribute(const Handle& object, const std::string& name) {
  Handle attribute = open_attribute(object, name);
  Handle type = string_type(attribute.what());
  char* pointer = nullptr;
  check(H5Aread(attribute.id(), type.id(), &pointer), attribute.what(),
        "reading (expected a string)");
  std::string value = pointer ? pointer : "";
  Handle space(H5Aget_space(attribute.id()), H5Sclose, attribute.what());
  H5Dvlen_reclaim(type.id(), space.id(), H5P_DEFAULT, &pointer);
  return value;
}

std::int64_t read_integer_attribute(const Handle& object, const std::string& name) {
  Handle attribute = open_attribute(object, name);
  std::int64_t value = 0;
  check(H5Aread(attribute.id(), H5T_NATIVE_INT64, &value), attribute.what(),
        "reading (expected an integer)");
  return value;
}

double read_double_attribute(const Handle& object, const std::string& name) {
  Handle attribute = open_attribute(object, name);
  double value = 0;
  check(H5Aread(attribute.id(), H5T_NATIVE_DOUBLE, &value), attribute.what(),
        "reading (expected a number)");
  return value;
}

}  // namespace icl::h5
