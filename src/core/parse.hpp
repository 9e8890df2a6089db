#pragma once
/// Strict number parsing shared by covariance specs, shift strings and command-line values: the
/// whole text must be a finite number, or a ConfigError names the text and where it came from.
#include <string>
#include <string_view>
#include <vector>

namespace icl {

/// Parse a finite double; `what` names the source in the error ("covariance 'diag:1,x'").
double parse_finite_double(std::string_view text, const std::string& what);
/// Parse a non-negative integer that fits in `long long`.
long long parse_integer(std::string_view text, const std::string& what);
/// "a, b, c": the items joined by a separator.
std::string join(const std::vector<std::string>& items, std::string_view separator);

/// Split on a separator, keeping empty pieces (so "1,,2" is an error for the caller to report).
std::vector<std::string_view> split(std::string_view text, char separator);

}  // namespace icl
