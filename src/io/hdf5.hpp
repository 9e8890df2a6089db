#pragma once
/// A thin RAII layer over the HDF5 C API. Every hid_t lives in a move-only Handle whose destructor
/// closes it and never throws; every return code is checked where the call is made and turned into
/// an IoError that names the file and the object. HDF5's own error printing is switched off.
#include <hdf5.h>

#include <Eigen/Core>

#include <cstdint>
#include <string>
#include <vector>

namespace icl::h5 {

class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer, std::string what);
  Handle(Handle&& other) noexcept;
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle();

  hid_t id() const { return id_; }
  /// "FILE:/path/to/object", for error messages.
  const std::string& what() const { return what_; }

 private:
  void reset() noexcept;
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
  std::string what_;
};

/// Switch off HDF5's automatic error printing (once per process); errors become IoError instead.
void silence_library_errors();

/// Truncates. `userblock_bytes` (0 or a power of two >= 512) are reserved at the start of the file
/// for the caller: HDF5 skips them (h5py and every reader find the superblock after them).
Handle create_file(const std::string& path, hsize_t userblock_bytes = 0);
/// Open a file held in memory, read-only, from the bytes where its HDF5 part starts (after any
/// user block: HDF5's addresses count from the superblock); `name` appears in errors. ConfigError
/// when HDF5 cannot open it.
Handle open_file_image(const std::uint8_t* image, std::size_t size, const std::string& name);

Handle create_group(const Handle& parent, const std::string& name);
Handle open_group(const Handle& parent, const std::string& name);
bool exists(const Handle& parent, const std::string& name);
std::vector<std::string> list_children(const Handle& group);

void write_doubles(const Handle& parent, const std::string& name,
                   const std::vector<double>& values);
void write_integers(const Handle& parent, const std::string& name,
                    const std::vector<std::int64_t>& values);
void write_bytes(const Handle& parent, const std::string& name,
                 const std::vector<std::uint8_t>& values);
void write_strings(const Handle& parent, const std::string& name,
                   const std::vector<std::string>& values);
/// The one place where Eigen's column-major storage becomes HDF5's row-major 2-D layout.
void write_matrix(const Handle& parent, const std::string& name, const Eigen::MatrixXd& matrix);

/// An existing dataset, to annotate (attributes) or to use as a dimension scale.
Handle open_dataset(const Handle& parent, const std::string& name);
/// Make the 1-D dataset `scale` a dimension scale called `dimension` (netCDF-4's and xarray's
/// dimensions), and attach a scale to dimension 0 of `dataset`.
void make_dimension_scale(const Handle& scale, const std::string& dimension);
void attach_dimension_scale(const Handle& dataset, const Handle& scale);

std::vector<double> read_doubles(const Handle& parent, const std::string& name);
std::vector<std::int64_t> read_integers(const Handle& parent, const std::string& name);
std::vector<std::uint8_t> read_bytes(const Handle& parent, const std::string& name);
std::vector<std::string> read_strings(const Handle& parent, const std::string& name);
Eigen::MatrixXd read_matrix(const Handle& parent, const std::string& name);

void write_attribute(const Handle& object, const std::string& name, const std::string& value);
void write_attribute(const Handle& object, const std::string& name, std::int64_t value);
void write_attribute(const Handle& object, const std::string& name, double value);
void write_attribute(const Handle& object, const std::string& name,
                     const std::vector<std::int64_t>& values);
bool has_attribute(const Handle& object, const std::string& name);
/// Whether `group` has a link (dataset or group) called `name`.
bool has_child(const Handle& group, const std::string& name);
std::string read_string_attribute(const Handle& object, const std::string& name);
std::int64_t read_integer_attribute(const Handle& object, const std::string& name);
double read_double_attribute(const Handle& object, const std::string& name);

}  // namespace icl::h5
