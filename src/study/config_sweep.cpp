#include "study/config_section.hpp"

#include <charconv>

namespace icl {

/// The key's string, or the first string of its list; `fallback` when there is neither.
std::string first_string(const toml::table* table, const char* key, const std::string& fallback) {
  const toml::node* node = table ? table->get(key) : nullptr;
  if (const auto* array = node ? node->as_array() : nullptr; array && !array->empty())
    node = &(*array)[0];
  return node && node->is_string() ? std::string(node->as_string()->get()) : fallback;
}

/// A value as a sweep label shows it: strings bare, numbers in their shortest exact form.
std::string value_text(const toml::node& node) {
  if (const auto* string = node.as_string()) return string->get();
  if (const auto* number = node.as_floating_point()) {
    char buffer[64];
    const auto end = std::to_chars(buffer, buffer + sizeof buffer, number->get()).ptr;
    return std::string(buffer, end);
  }
  std::ostringstream text;
  node.visit([&](const auto& item) { text << item; });
  return text.str();
}

void apply_overrides(toml::table& root, const std::vector<std::string>& overrides) {
  for (const auto& item : overrides) {
    const auto equals = item.find('=');
    const auto dot = item.find('.');
    if (equals == std::string::npos || dot == std::string::npos || dot > equals || dot == 0 ||
        dot + 1 == equals)
      throw ConfigError("--set " + quote(item) + ": expected section.key=value");
    const std::string section = item.substr(0, dot), key = item.substr(dot + 1, equals - dot - 1);
    toml::table value;
    try {
      value = toml::parse(std::string_view("value = " + item.substr(equals + 1)),
                          std::string_view("--set"));
    } catch (const toml::parse_error& e) {
      throw ConfigError("--set " + quote(item) + ": malformed value (" +
                        std::string(e.description()) + ")");
    }
    toml::node* target = root.get(section);
    if (!target) {
      root.insert(section, toml::table());
      target = root.get(section);
    }
    auto assign = [&](toml::table& table) {
      // The copy carries no source position: errors in it say "(from --set)".
      value.get("value")->visit([&](const auto& v) { table.insert_or_assign(key, v); });
    };
    if (auto* table = target->as_table())
      assign(*table);
    else if (auto* blocks = target->as_array(); blocks && blocks->is_array_of_tables())
      for (auto& block : *blocks) assign(*block.as_table());
    else
      throw ConfigError("--set " + quote(item) + ": '" + section + "' is not a section");
  }
}

}  // namespace icl
