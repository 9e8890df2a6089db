#pragma once
/// A shard of a study (`--shard I/K`, and the `shard` attribute of a result file): the points the
/// cost-balanced partition into K parts gives part I, the same in every run of the study.
#include "study/study.hpp"

#include <string>
#include <vector>

namespace icl {

struct Shard {
  int index = 0, count = 1;  ///< I, K

  /// "I/K" with integers 0 <= I < K (empty text: the whole study, 0/1). Throws ConfigError
  /// "`where`: expected I/K ..." naming the text.
  static Shard parse(const std::string& text, const std::string& where);
  std::string text() const { return std::to_string(index) + "/" + std::to_string(count); }
};

/// Which of the study's points belong to `shard`.
std::vector<bool> shard_membership(const Study& study, const Shard& shard);

}  // namespace icl
