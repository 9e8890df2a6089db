#pragma once
/// Internal to the config parser (config.cpp, config_sweep.cpp): one TOML table read with FILE:LINE
/// errors, and the sweep's lists and command-line overrides.
#include "core/errors.hpp"
#include "core/parse.hpp"
#include "study/config.hpp"
#include "study/limits.hpp"

#include <toml++/toml.h>

#include <cmath>
#include <cstdint>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace icl {

/// Reads one table, remembering which keys were used so that unknown ones can be reported.
class Section {
 public:
  /// `origin`, when given, is the table as written, whose nodes name the lines in errors (a sweep
  /// variant's table is a copy, and copies of TOML nodes carry no source position).
  Section(const toml::table* table, std::string name, std::string source,
          const toml::table* origin = nullptr)
      : table_(table),
        origin_(origin ? origin : table),
        name_(std::move(name)),
        source_(std::move(source)) {}

  bool has(const std::string& key) const { return table_ && table_->contains(key); }

  [[noreturn]] void fail(const std::string& key, const std::string& message) const {
    const toml::node* node = origin_ ? origin_->get(key) : nullptr;
    std::ostringstream out;
    out << source_;
    if (node && node->source().begin.line > 0) out << ':' << node->source().begin.line;
    out << ": [" << name_ << "] " << key;
    if (node && node->source().begin.line == 0) out << " (from --set)";
    out << ": " << message;
    throw ConfigError(out.str());
  }
  [[noreturn]] void fail_section(const std::string& message) const {
    std::ostringstream out;
    out << source_;
    if (origin_ && origin_->source().begin.line > 0) out << ':' << origin_->source().begin.line;
    out << ": [" << name_ << "]: " << message;
    throw ConfigError(out.str());
  }

  const toml::node& node(const std::string& key) {
    used_.insert(key);
    const toml::node* found = table_ ? table_->get(key) : nullptr;
    if (!found) fail(key, "missing");
    return *found;
  }

  std::int64_t integer(const std::string& key, std::int64_t low, std::int64_t high) {
    const auto& value = node(key);
    if (!value.is_integer()) fail(key, "expected an integer, got " + describe(value));
    const std::int64_t result = value.as_integer()->get();
    if (result < low || result > high)
      fail(key, "expected an integer in [" + std::to_string(low) + ", " + std::to_string(high) +
                    "], got " + std::to_string(result));
    return result;
  }
  std::int64_t integer_or(const std::string& key, std::int64_t fallback, std::int64_t low,
                          std::int64_t high) {
    return has(key) ? integer(key, low, high) : fallback;
  }

  double number(const std::string& key, double low, double high, bool open_low = false) {
    const auto& value = node(key);
    double result = 0;
    if (value.is_integer())
      result = static_cast<double>(value.as_integer()->get());
    else if (value.is_floating_point())
      result = value.as_floating_point()->get();
    else
      fail(key, "expected a number, got " + describe(value));
    if (!std::isfinite(result)) fail(key, "expected a finite number, got " + describe(value));
    if (result < low || result > high || (open_low && result == low)) {
      std::ostringstream range;
      range << "expected a number in " << (open_low ? "(" : "[") << low << ", " << high << "], got "
            << result;
      fail(key, range.str());
    }
    return result;
  }
  double number_or(const std::string& key, double fallback, double low, double high,
                   bool open_low = false) {
    return has(key) ? number(key, low, high, open_low) : fallback;
  }

  std::string string(const std::string& key) {
    const auto& value = node(key);
    if (!value.is_string()) fail(key, "expected a string, got " + describe(value));
    return value.as_string()->get();
  }
  std::string string_or(const std::string& key, const std::string& fallback) {
    return has(key) ? string(key) : fallback;
  }
  std::string choice(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& choices) {
    const std::string value = string_or(key, fallback);
    for (const auto& c : choices)
      if (value == c) return value;
    fail(key, "expected one of " + join(choices, ", ") + ", got \"" + value + "\"");
  }

  template <typename Item>
  std::vector<Item> list(const std::string& key, auto&& convert) {
    const auto& value = node(key);
    if (!value.is_array()) fail(key, "expected a list, got " + describe(value));
    const auto& array = *value.as_array();
    if (array.empty()) fail(key, "expected a non-empty list");
    std::vector<Item> items;
    for (std::size_t i = 0; i < array.size(); ++i) {
      Item item = convert(array[i], i);
      for (const auto& seen : items)
        if (seen == item) fail(key, "duplicate value at position " + std::to_string(i + 1));
      items.push_back(std::move(item));
    }
    return items;
  }
  std::vector<int> integer_list(const std::string& key, std::int64_t low, std::int64_t high) {
    return list<int>(key, [&](const toml::node& item, std::size_t i) {
      if (!item.is_integer())
        fail(key, "expected integers, element " + std::to_string(i + 1) + " is " + describe(item));
      const auto v = item.as_integer()->get();
      if (v < low || v > high)
        fail(key, "expected integers in [" + std::to_string(low) + ", " + std::to_string(high) +
                      "], element " + std::to_string(i + 1) + " is " + std::to_string(v));
      return static_cast<int>(v);
    });
  }
  std::vector<std::string> string_list(const std::string& key) {
    return list<std::string>(key, [&](const toml::node& item, std::size_t i) {
      if (!item.is_string())
        fail(key, "expected strings, element " + std::to_string(i + 1) + " is " + describe(item));
      return std::string(item.as_string()->get());
    });
  }

  const std::set<std::string>& used() const { return used_; }
  void mark_used(const std::set<std::string>& keys) { used_.insert(keys.begin(), keys.end()); }

  /// Unknown keys are errors: a misspelt key would otherwise be silently ignored.
  void reject_unknown_keys(const std::string& context = "") const {
    if (!table_) return;
    for (auto&& [key, value] : *table_)
      if (!used_.count(std::string(key.str())))
        fail(std::string(key.str()), "unknown key" + context);
  }

  static std::string describe(const toml::node& node) {
    std::ostringstream out;
    switch (node.type()) {
      case toml::node_type::string:
        out << "the string \"" << node.as_string()->get() << '"';
        break;
      case toml::node_type::integer:
        out << "the integer " << node.as_integer()->get();
        break;
      case toml::node_type::floating_point:
        out << "the number " << node.as_floating_point()->get();
        break;
      case toml::node_type::boolean:
        out << "a boolean";
        break;
      case toml::node_type::array:
        out << "a list";
        break;
      case toml::node_type::table:
        out << "a table";
        break;
      default:
        out << "a date or time";
        break;
    }
    return out.str();
  }

 private:
  const toml::table* table_;
  const toml::table* origin_;
  std::string name_;
  std::string source_;
  std::set<std::string> used_;
};

/// The key's string, or the first string of its list; `fallback` when there is neither.
std::string first_string(const toml::table* table, const char* key, const std::string& fallback);

/// A value as a sweep label shows it: strings bare, numbers in their shortest exact form.
std::string value_text(const toml::node& node);

/// Apply `icl-study ... --set section.key=value` overrides (value in TOML syntax) to the parsed
/// config; a [[grid]] key applies to every block. Throws ConfigError naming the override.
void apply_overrides(toml::table& root, const std::vector<std::string>& overrides);

/// A [training] or [models] table in which any key may be a list: each combination of the lists'
/// elements (the first list varying slowest) is one variant, parsed by `parse_one` as if the table
/// held those scalars. A key a variant does not use (decay_every of a constant schedule) is an
/// error only when no variant uses it.
template <typename Options, typename ParseOne>
std::vector<Variant<Options>> parse_variants(const toml::table* table, const std::string& name,
                                             const std::string& source, const ParseOne& parse_one,
                                             const std::string& unknown_context = "") {
  Section original(table, name, source);
  std::vector<std::string> swept;
  std::size_t combinations = 1;
  if (table)
    for (auto&& [key, value] : *table) {
      const auto* array = value.as_array();
      if (!array) continue;
      const std::string k(key.str());
      if (array->empty()) original.fail(k, "expected a value or a non-empty list of values");
      for (std::size_t i = 0; i < array->size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
          if ((*array)[i].type() == (*array)[j].type() &&
              value_text((*array)[i]) == value_text((*array)[j]))
            original.fail(k, "duplicate value at position " + std::to_string(i + 1));
      swept.push_back(k);
      combinations *= array->size();
      if (combinations > limits::max_variants)
        original.fail(k, "the lists of [" + name + "] make more than " +
                             std::to_string(limits::max_variants) + " combinations");
    }
  std::vector<Variant<Options>> variants;
  std::set<std::string> used;
  std::vector<std::size_t> position(swept.size(), 0);
  for (std::size_t c = 0; c < combinations; ++c) {
    toml::table copy = table ? *table : toml::table();
    Variant<Options> variant;
    for (std::size_t k = 0; k < swept.size(); ++k) {
      const toml::node& element = (*table->get(swept[k])->as_array())[position[k]];
      element.visit([&](const auto& item) { copy.insert_or_assign(swept[k], item); });
      variant.label += (variant.label.empty() ? "" : ";") + swept[k] + "=" + value_text(element);
    }
    Section section(&copy, name, source, table);
    parse_one(section, variant.options);
    used.insert(section.used().begin(), section.used().end());
    variants.push_back(std::move(variant));
    for (std::size_t k = swept.size(); k-- > 0;) {  // odometer: the last list varies fastest
      if (++position[k] < table->get(swept[k])->as_array()->size()) break;
      position[k] = 0;
    }
  }
  original.mark_used(used);
  original.reject_unknown_keys(unknown_context);
  return variants;
}

}  // namespace icl
