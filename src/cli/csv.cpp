#include "cli/csv.hpp"

#include <cstdio>

namespace icl {

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(text);
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string csv_number(std::optional<double> value) {
  if (!value) return {};
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.12g", *value);
  return buffer;
}

void write_export_header(std::ostream& out) {
  out << "point,d,N,M,shift,covariance,task,model,predictor,risk,stderr,prompts,theory\n";
}

void write_export_row(std::ostream& out, const ExportRow& row) {
  out << row.point << ',' << row.dim << ',' << row.train_length << ',' << row.test_length << ','
      << csv_field(row.shift) << ',' << csv_field(row.covariance) << ',' << csv_field(row.task)
      << ',' << csv_field(row.model) << ',' << csv_field(row.predictor) << ','
      << csv_number(row.risk) << ',' << csv_number(row.standard_error) << ','
      << (row.prompts ? std::to_string(*row.prompts) : std::string()) << ','
      << csv_number(row.theory) << '\n';
}

}  // namespace icl
