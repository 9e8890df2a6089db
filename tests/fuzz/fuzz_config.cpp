/// libFuzzer target: any byte string given to the config parser (and, when it parses, to the grid
/// expansion that validates every point) must either succeed or throw icl::ConfigError. Anything
/// else (another exception, a crash, a sanitizer report, a hang) is a finding.
#include "cli/config.hpp"
#include "cli/study.hpp"
#include "core/errors.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    icl::StudyConfig config = icl::parse_config_text(text, "fuzz.toml");
    // Keep the expansion small: a valid grid of millions of points is not a parser bug.
    std::size_t points = 0;
    for (const auto& grid : config.grids)
      points += grid.dim.size() * grid.train_length.size() * grid.test_length.size() *
                grid.shift.size() * grid.covariance.size() * grid.task.size();
    if (points <= 2000) icl::expand_study(std::move(config));
  } catch (const icl::ConfigError&) {
    // The expected answer to bad input.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_config: unexpected exception: %s\n", e.what());
    std::abort();
  }
  return 0;
}
