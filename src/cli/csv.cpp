#include "cli/csv.hpp"

#include <cmath>
#include <cstdio>
#include <type_traits>

namespace icl {
namespace {

/// The export's columns of a point: those of /points before `status`.
template <typename Table, typename Visit>
void for_each_export_column(Table& table, const Visit& visit) {
  bool exported = true;
  for_each_point_column(table, [&](const char* name, auto& column, const auto* absent) {
    if (std::string_view(name) == "status") exported = false;
    if (exported) visit(name, column, absent);
  });
}

}  // namespace

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
  if (!value || std::isnan(*value)) return {};
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.12g", *value);
  return buffer;
}

void write_export_header(std::ostream& out) {
  out << "point";
  const PointTable empty;
  for_each_export_column(empty,
                         [&](const char* name, const auto&, const auto*) { out << ',' << name; });
  out << ",predictor,risk,stderr,prompts,theory\n";
}

void write_export_row(std::ostream& out, const ExportRow& row) {
  out << row.row;
  for_each_export_column(*row.points, [&](const char*, const auto& column, const auto*) {
    using Value = typename std::decay_t<decltype(column)>::value_type;
    const Value& value = column[row.row];
    out << ',';
    if constexpr (std::is_same_v<Value, std::string>)
      out << csv_field(value);
    else if constexpr (std::is_same_v<Value, double>)
      out << csv_number(value);
    else
      out << value;
  });
  out << ',' << csv_field(row.predictor) << ',' << csv_number(row.risk) << ','
      << csv_number(row.standard_error) << ','
      << (row.prompts ? std::to_string(*row.prompts) : std::string()) << ','
      << csv_number(row.theory) << '\n';
}

PointTable single_point_table(std::int64_t dim, std::int64_t train_length, std::int64_t test_length,
                              const std::string& shift, const std::string& covariance,
                              const std::string& task) {
  PointTable table;
  table.dim = {dim};
  table.train_length = {train_length};
  table.test_length = {test_length};
  table.shift = {shift};
  table.covariance = {covariance};
  table.task = {task};
  for_each_point_column(table, [](const char*, auto& column, const auto* absent) {
    using Value = typename std::decay_t<decltype(column)>::value_type;
    if (column.empty()) column.push_back(absent ? *absent : Value());
  });
  return table;
}

}  // namespace icl
