#pragma once
/// Philox4x32-10 (Salmon et al. 2011) on many consecutive blocks at once, with the instruction set
/// chosen when the program runs. Every path returns the same words as Random123's reference
/// r123::Philox4x32 for the same counters and key: only the speed differs (docs/architecture.md,
/// "Random numbers").
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace icl {

/// Implementations of the block function. `scalar` is Random123's own; the vector ones run one
/// block per 64-bit lane (four with AVX2, eight with AVX-512) so that the 32 x 32 -> 64-bit
/// multiplies Philox needs are single instructions.
enum class PhiloxPath { scalar, avx2, avx512 };

std::string philox_path_name(PhiloxPath path);
/// Whether this CPU can run `path` (scalar: always).
bool philox_path_available(PhiloxPath path);
/// Every path this CPU can run, scalar first.
std::vector<PhiloxPath> available_philox_paths();

/// The path RandomStream uses: the widest this CPU runs, or the one named by the environment
/// variable ICL_PHILOX_PATH (scalar, avx2, avx512), which tests use to compare the paths through
/// the whole program. Chosen once; throws ConfigError naming the variable if it names an unknown
/// path or one this CPU cannot run (the command-line entry point calls it before any work).
PhiloxPath active_philox_path();

using PhiloxKey = std::array<std::uint32_t, 2>;
using PhiloxCounter = std::array<std::uint32_t, 4>;

/// out[4 i + w] = word w of Philox4x32-10(counter with word 3 = counter[3] | (first_block + i),
/// key) for i in [0, count). Block numbers must stay below 2^24 (they share word 3 with the
/// stream byte).
void philox_blocks(PhiloxPath path, const PhiloxKey& key, const PhiloxCounter& counter,
                   std::uint32_t first_block, int count, std::uint32_t* out);

}  // namespace icl
