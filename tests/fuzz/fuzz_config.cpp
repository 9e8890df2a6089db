/// libFuzzer target: any byte string given to the config parser (which validates every covariance,
/// shift, task and model of the grid against each other) must either succeed or throw
/// icl::ConfigError. Anything else (another exception, a crash, a sanitizer report, a hang) is a
/// finding.
#include "core/errors.hpp"
#include "study/config.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const icl::StudyConfig config = icl::parse_config_text(text, "fuzz.toml");
    if (config.grids.empty()) std::abort();  // a parsed config always has a grid
  } catch (const icl::ConfigError&) {
    // The expected answer to bad input.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_config: unexpected exception: %s\n", e.what());
    std::abort();
  }
  return 0;
}
