/// libFuzzer target: any byte string read as a result file (from memory, as `info`, `export`,
/// `merge` and `--resume` read one from disk) must either load or throw icl::ConfigError. Anything
/// else (another exception, a crash, a sanitizer report, a hang) is a finding.
///
/// Files that begin with HDF5's own signature are those written before files were sealed: they are
/// handed to HDF5 unverified (kept loadable), so damage to them is HDF5's to survive, not ours;
/// this target skips them and fuzzes what the program writes today, sealed files, down to the
/// structure HDF5 reads once a seal matches.
#include "core/errors.hpp"
#include "io/result_file.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const char hdf5_signature[] = "\x89HDF\r\n\x1a\n";
  if (size >= 8 && std::memcmp(data, hdf5_signature, 8) == 0) return 0;
  const std::vector<std::uint8_t> image(data, data + size);
  try {
    const icl::ResultData result = icl::read_result_image(image, "fuzz.h5");
    if (result.points.dim.size() != result.points.size()) std::abort();  // checked on reading
  } catch (const icl::ConfigError&) {
    // The expected answer to a damaged or foreign file.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_result_file: unexpected exception: %s\n", e.what());
    std::abort();
  }
  return 0;
}
