#pragma once
/// The export table (README "Command line"):
/// `point,d,N,M,shift,covariance,predictor,risk,stderr,prompts,theory`.
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace icl {

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
std::string csv_field(std::string_view text);
/// A number as the export prints it: 12 significant digits, or empty when absent.
std::string csv_number(std::optional<double> value);

struct ExportRow {
  long long point = 0;
  int dim = 0;
  int train_length = 0;
  int test_length = 0;
  std::string shift = "none";
  std::string covariance;
  std::string task = "linear";
  std::string model = "lsa";
  std::string predictor;
  std::optional<double> risk, standard_error, theory;
  std::optional<long long> prompts;
};

void write_export_header(std::ostream& out);
void write_export_row(std::ostream& out, const ExportRow& row);

}  // namespace icl
