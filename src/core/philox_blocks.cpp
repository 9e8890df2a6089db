#include "core/philox_blocks.hpp"

#include "core/vector_tier.hpp"

#include <Random123/philox.h>
#include <immintrin.h>

#include <cstring>

namespace icl {

namespace {

// Philox4x32's multipliers and Weyl key increments (Salmon et al. 2011, Random123 philox.h).
constexpr std::uint32_t multiplier0 = 0xD2511F53u, multiplier1 = 0xCD9E8D57u;
constexpr std::uint32_t weyl0 = 0x9E3779B9u, weyl1 = 0xBB67AE85u;
constexpr int rounds = 10;

void scalar_blocks(const PhiloxKey& key, const PhiloxCounter& counter, std::uint32_t first_block,
                   int count, std::uint32_t* out) {
  const r123::Philox4x32::key_type k = {{key[0], key[1]}};
  r123::Philox4x32::ctr_type c = {{counter[0], counter[1], counter[2], 0}};
  const r123::Philox4x32 philox;
  for (int i = 0; i < count; ++i) {
    c[3] = counter[3] | (first_block + static_cast<std::uint32_t>(i));
    const auto words = philox(c, k);
    std::memcpy(out + 4 * i, words.v, sizeof(words.v));
  }
}

// The vector paths hold word w of several blocks in the low halves of 64-bit lanes. A Philox round
//   (c0, c1, c2, c3) -> (hi(M1 c2) ^ c1 ^ k0, lo(M1 c2), hi(M0 c0) ^ c3 ^ k1, lo(M0 c0))
// is then two widening multiplies (which read only the low halves), two shifts and four XORs; the
// upper halves carry junk that never reaches a low half, and is dropped when the words are packed.
// Two independent groups of lanes are interleaved to hide the multiplies' latency.

__attribute__((target("avx2"))) void avx2_blocks(const PhiloxKey& key, const PhiloxCounter& counter,
                                                 std::uint32_t first_block, int count,
                                                 std::uint32_t* out) {
  constexpr int width = 4, group = 2 * width;
  const __m256i m0 = _mm256_set1_epi64x(multiplier0), m1 = _mm256_set1_epi64x(multiplier1);
  const __m256i low_mask = _mm256_set1_epi64x(0xffffffffll);
  for (int start = 0; start < count; start += group) {
    const std::uint32_t block = first_block + static_cast<std::uint32_t>(start);
    __m256i c0[2], c1[2], c2[2], c3[2];
    for (int g = 0; g < 2; ++g) {
      const std::uint32_t b = block + static_cast<std::uint32_t>(g * width);
      c0[g] = _mm256_set1_epi64x(counter[0]);
      c1[g] = _mm256_set1_epi64x(counter[1]);
      c2[g] = _mm256_set1_epi64x(counter[2]);
      c3[g] = _mm256_set_epi64x(counter[3] | (b + 3), counter[3] | (b + 2), counter[3] | (b + 1),
                                counter[3] | b);
    }
    std::uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < rounds; ++round) {
      const __m256i key0 = _mm256_set1_epi64x(k0), key1 = _mm256_set1_epi64x(k1);
      for (int g = 0; g < 2; ++g) {
        const __m256i p0 = _mm256_mul_epu32(c0[g], m0);
        const __m256i p1 = _mm256_mul_epu32(c2[g], m1);
        c0[g] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), c1[g]), key0);
        c1[g] = p1;
        c2[g] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), c3[g]), key1);
        c3[g] = p0;
      }
      k0 += weyl0;
      k1 += weyl1;
    }
    alignas(32) std::uint32_t words[4 * group];
    for (int g = 0; g < 2; ++g) {
      // Lane i of `first` is words 0 and 1 of block i as one 64-bit value; of `second`, 2 and 3.
      const __m256i first =
          _mm256_or_si256(_mm256_and_si256(c0[g], low_mask), _mm256_slli_epi64(c1[g], 32));
      const __m256i second =
          _mm256_or_si256(_mm256_and_si256(c2[g], low_mask), _mm256_slli_epi64(c3[g], 32));
      const __m256i even = _mm256_unpacklo_epi64(first, second);  // blocks 0 and 2
      const __m256i odd = _mm256_unpackhi_epi64(first, second);   // blocks 1 and 3
      auto* target = reinterpret_cast<__m256i*>(words + 4 * width * g);
      _mm256_store_si256(target, _mm256_permute2x128_si256(even, odd, 0x20));
      _mm256_store_si256(target + 1, _mm256_permute2x128_si256(even, odd, 0x31));
    }
    const int blocks = count - start < group ? count - start : group;
    std::memcpy(out + 4 * start, words, sizeof(std::uint32_t) * 4 * blocks);
  }
}

// GCC 12's AVX-512 shift intrinsics start from _mm512_undefined_epi32(), which
// -Wmaybe-uninitialized reports inside the header; the value is fully overwritten.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
__attribute__((target("avx512f"))) void avx512_blocks(const PhiloxKey& key,
                                                      const PhiloxCounter& counter,
                                                      std::uint32_t first_block, int count,
                                                      std::uint32_t* out) {
  constexpr int width = 8, group = 2 * width;
  const __m512i m0 = _mm512_set1_epi64(multiplier0), m1 = _mm512_set1_epi64(multiplier1);
  const __m512i low_mask = _mm512_set1_epi64(0xffffffffll);
  const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  // Interleave two vectors of 64-bit values block by block: (a0, b0, a1, b1, ...).
  const __m512i interleave_low = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);
  const __m512i interleave_high = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
  for (int start = 0; start < count; start += group) {
    const std::uint32_t block = first_block + static_cast<std::uint32_t>(start);
    __m512i c0[2], c1[2], c2[2], c3[2];
    for (int g = 0; g < 2; ++g) {
      const std::uint32_t b = block + static_cast<std::uint32_t>(g * width);
      c0[g] = _mm512_set1_epi64(counter[0]);
      c1[g] = _mm512_set1_epi64(counter[1]);
      c2[g] = _mm512_set1_epi64(counter[2]);
      c3[g] = _mm512_or_si512(_mm512_set1_epi64(counter[3]),
                              _mm512_add_epi64(_mm512_set1_epi64(b), lane));
    }
    std::uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < rounds; ++round) {
      const __m512i key0 = _mm512_set1_epi64(k0), key1 = _mm512_set1_epi64(k1);
      for (int g = 0; g < 2; ++g) {
        const __m512i p0 = _mm512_mul_epu32(c0[g], m0);
        const __m512i p1 = _mm512_mul_epu32(c2[g], m1);
        // 0x96: the three-way XOR a ^ b ^ c in one instruction.
        c0[g] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), c1[g], key0, 0x96);
        c1[g] = p1;
        c2[g] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), c3[g], key1, 0x96);
        c3[g] = p0;
      }
      k0 += weyl0;
      k1 += weyl1;
    }
    alignas(64) std::uint32_t words[4 * group];
    for (int g = 0; g < 2; ++g) {
      const __m512i first =
          _mm512_or_si512(_mm512_and_si512(c0[g], low_mask), _mm512_slli_epi64(c1[g], 32));
      const __m512i second =
          _mm512_or_si512(_mm512_and_si512(c2[g], low_mask), _mm512_slli_epi64(c3[g], 32));
      auto* target = reinterpret_cast<__m512i*>(words + 4 * width * g);
      _mm512_store_si512(target, _mm512_permutex2var_epi64(first, interleave_low, second));
      _mm512_store_si512(target + 1, _mm512_permutex2var_epi64(first, interleave_high, second));
    }
    const int blocks = count - start < group ? count - start : group;
    std::memcpy(out + 4 * start, words, sizeof(std::uint32_t) * 4 * blocks);
  }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

constexpr VectorTierNames philox_path_names{"scalar", "avx2", "avx512"};
static_assert(static_cast<int>(PhiloxPath::avx2) == static_cast<int>(VectorTier::avx2) &&
              static_cast<int>(PhiloxPath::avx512) == static_cast<int>(VectorTier::avx512));

}  // namespace

std::string philox_path_name(PhiloxPath path) {
  return philox_path_names[static_cast<int>(path)];
}

bool philox_path_available(PhiloxPath path) {
  return cpu_runs(static_cast<VectorTier>(path));
}

std::vector<PhiloxPath> available_philox_paths() {
  std::vector<PhiloxPath> paths;
  for (VectorTier tier : available_vector_tiers()) paths.push_back(static_cast<PhiloxPath>(tier));
  return paths;
}

PhiloxPath active_philox_path() {
  static const PhiloxPath path =
      static_cast<PhiloxPath>(chosen_vector_tier("ICL_PHILOX_PATH", philox_path_names));
  return path;
}

void philox_blocks(PhiloxPath path, const PhiloxKey& key, const PhiloxCounter& counter,
                   std::uint32_t first_block, int count, std::uint32_t* out) {
  switch (path) {
    case PhiloxPath::avx512:
      return avx512_blocks(key, counter, first_block, count, out);
    case PhiloxPath::avx2:
      return avx2_blocks(key, counter, first_block, count, out);
    case PhiloxPath::scalar:
      return scalar_blocks(key, counter, first_block, count, out);
  }
}

}  // namespace icl
