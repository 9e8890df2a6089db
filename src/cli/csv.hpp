#pragma once
/// The export table (README "Command line"): one row per (point, predictor): `point`, the point's
/// columns of /points up to `model_key` (its axes and how its model was trained, in the file's
/// order), then `predictor,risk,stderr,prompts,theory`.
#include "io/result_file.hpp"

#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace icl {

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
std::string csv_field(std::string_view text);
/// A number as the export prints it: 12 significant digits, or empty when absent.
std::string csv_number(std::optional<double> value);

/// One predictor's numbers at one point (row `row` of `points`).
struct ExportRow {
  const PointTable* points = nullptr;
  std::size_t row = 0;
  std::string predictor;
  std::optional<double> risk, standard_error, theory;
  std::optional<long long> prompts;
};

void write_export_header(std::ostream& out);
void write_export_row(std::ostream& out, const ExportRow& row);

/// A table of one point with the given axes and every other column as older files hold it (for
/// rows of points that are not in a file: `icl-study theory`).
PointTable single_point_table(std::int64_t dim, std::int64_t train_length,
                              std::int64_t test_length, const std::string& shift,
                              const std::string& covariance, const std::string& task);

}  // namespace icl
