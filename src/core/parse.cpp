#include "core/parse.hpp"

#include "core/errors.hpp"

#include <charconv>
#include <cmath>

namespace icl {

double parse_finite_double(std::string_view text, const std::string& what) {
  double value = 0.0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value))
    throw ConfigError(what + ": expected a finite number, got " + quote(std::string(text)));
  return value;
}

long long parse_integer(std::string_view text, const std::string& what) {
  long long value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end)
    throw ConfigError(what + ": expected an integer, got " + quote(std::string(text)));
  return value;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string text;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) text.append(separator);
    text.append(items[i]);
  }
  return text;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> pieces;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = text.find(separator, start);
    pieces.push_back(
        text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return pieces;
}

}  // namespace icl
