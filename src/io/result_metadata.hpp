#pragma once
/// What makes a result file self-describing for the scientific Python world (src/io/schema.md,
/// "Reading with xarray"): every table dataset carries `long_name`, `units` and `description`
/// attributes (CF conventions), strings say they are UTF-8 (`_Encoding`), and the point and
/// predictor dimensions are HDF5 dimension scales, so that netCDF-4 readers (h5netcdf, xarray,
/// netCDF4) see /points, /estimates/<predictor> and /theory as datasets over one `point`
/// dimension instead of unrelated phony dimensions.
#include "io/hdf5.hpp"
#include "io/result_file.hpp"

namespace icl {

/// Annotate the tables of a result file being written (every /points column, /estimates and
/// /theory datasets, /predictors) and create the `/point` dimension scale. The datasets must
/// exist already.
void describe_result_tables(const h5::Handle& file, const ResultData& data);

/// Model attributes that hold counts or flags: written as integers, read as numbers.
bool is_integer_model_attribute(const std::string& name);

}  // namespace icl
