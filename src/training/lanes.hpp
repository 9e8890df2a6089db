#pragma once
/// Eight prompts side by side: the arithmetic of the batched gradients
/// (training/batched_gradients.*).
///
/// A `Lanes` value holds one double for each of eight prompts, and every operation on it acts on
/// each lane alone (IEEE multiply, add, subtract, divide, compare, select). A lane therefore
/// computes exactly what a scalar loop would compute for its prompt, in the same order, whatever
/// instruction set the compiler maps the eight lanes onto (two AVX-512 registers' worth, two AVX2
/// registers or four SSE2 ones): the bits do not depend on the machine. Nothing here may sum across
/// lanes or fuse a multiply with an add (-ffp-contract=off keeps the compiler from doing so).
///
/// Internal to icl_training: every function is inlined into the per-instruction-set entry points of
/// batched_gradients.cpp, which is where the instruction set is chosen.
#include <Eigen/Core>

#include <bit>
#include <cstdint>
#include <vector>

// A 64-byte vector passed by value changes the ABI between instruction sets (GCC's -Wpsabi, off
// for the files that include this one); every function here is inlined, so no such call is made.
#define ICL_LANE_INLINE inline __attribute__((always_inline))

namespace icl::lanes {

constexpr int width = 8;
using Lanes = double __attribute__((vector_size(8 * width), aligned(8 * width)));
using LaneBits = std::int64_t __attribute__((vector_size(8 * width), aligned(8 * width)));

ICL_LANE_INLINE Lanes broadcast(double x) {
  return Lanes{} + x;
}
/// yes where `mask` (a lane comparison: all bits set or none) is set, no elsewhere.
template <typename Mask>
ICL_LANE_INLINE Lanes select(Mask mask, Lanes yes, Lanes no) {
  const LaneBits bits = std::bit_cast<LaneBits>(mask);
  return std::bit_cast<Lanes>((std::bit_cast<LaneBits>(yes) & bits) |
                              (std::bit_cast<LaneBits>(no) & ~bits));
}
ICL_LANE_INLINE Lanes max(Lanes a, Lanes b) {
  return select(a > b, a, b);
}

/// e^x for x <= 0 in every lane (softmax weights after subtracting the column's maximum), within
/// about 2 units in the last place: x = k ln 2 + r with |r| <= ln 2 / 2, a degree-13 Taylor
/// polynomial for e^r (truncation below 1e-17), times 2^k built from its bits. Arguments below
/// -700 count as -700: a weight under 1e-304 of the largest, where the true one underflows.
ICL_LANE_INLINE Lanes exp_nonpositive(Lanes x) {
  x = max(x, broadcast(-700.0));
  const Lanes round = broadcast(6755399441055744.0);  // 1.5 * 2^52: adding it rounds to integer
  const Lanes shifted = x * broadcast(1.4426950408889634) + round;
  const Lanes k = shifted - round;
  // ln 2 in two parts, the first with trailing zero bits so that k * hi is exact.
  const Lanes r = (x - k * broadcast(0.693145751953125)) - k * broadcast(1.4286068203094172e-06);
  Lanes p = broadcast(1.0 / 6227020800.0);  // 1/13!
  const double inverse_factorials[] = {1.0 / 479001600.0,
                                       1.0 / 39916800.0,
                                       1.0 / 3628800.0,
                                       1.0 / 362880.0,
                                       1.0 / 40320.0,
                                       1.0 / 5040.0,
                                       1.0 / 720.0,
                                       1.0 / 120.0,
                                       1.0 / 24.0,
                                       1.0 / 6.0,
                                       0.5,
                                       1.0,
                                       1.0};
  for (double c : inverse_factorials) p = p * r + broadcast(c);
  // The low bits of `shifted` hold k (|k| <= 1010); 2^k has exponent field k + 1023.
  const LaneBits exponent =
      (std::bit_cast<LaneBits>(shifted) - std::bit_cast<LaneBits>(round) + 1023) << 52;
  return p * std::bit_cast<Lanes>(exponent);
}

/// A column-major matrix of Lanes (lane b of every entry belongs to prompt b). The entries are
/// boxed in a 64-byte-aligned struct: std::vector drops the alignment attribute of a vector type
/// given as its element, and the wide instruction sets load and store the lanes aligned.
struct Matrix {
  struct alignas(8 * width) Entry {
    Lanes value;
  };
  int rows = 0, cols = 0;
  std::vector<Entry> data;

  void resize(int r, int c) {
    rows = r;
    cols = c;
    data.resize(static_cast<std::size_t>(r) * static_cast<std::size_t>(c));
  }
  void set_zero() {
    for (auto& x : data) x.value = Lanes{};
  }
  ICL_LANE_INLINE Lanes& operator()(int i, int j) {
    return data[static_cast<std::size_t>(i) + static_cast<std::size_t>(rows) * j].value;
  }
  ICL_LANE_INLINE const Lanes& operator()(int i, int j) const {
    return data[static_cast<std::size_t>(i) + static_cast<std::size_t>(rows) * j].value;
  }
};

/// Operand accessors for `product`: a lane matrix or a parameter matrix (the same for every
/// prompt, broadcast), either transposed or not.
struct LaneOperand {
  const Matrix& m;
  bool transposed;
  ICL_LANE_INLINE Lanes operator()(int i, int k) const { return transposed ? m(k, i) : m(i, k); }
};
struct SharedOperand {
  const Eigen::MatrixXd& m;
  bool transposed;
  ICL_LANE_INLINE Lanes operator()(int i, int k) const {
    return broadcast(transposed ? m(k, i) : m(i, k));
  }
};

enum class Store { assign, add };

/// out(i, j) = (or +=) Σ_{k < depth} a(i, k) b(k, j) for i < rows, j < cols, the sum taken in
/// ascending k from a(i, 0) b(0, j). Blocks of 4 x 2 outputs keep eight independent sums in
/// flight; the order of each sum is the same in every block and in the remainders.
template <typename A, typename B>
ICL_LANE_INLINE void product(Matrix& out, int rows, int cols, int depth, const A& a, const B& b,
                             Store store) {
  auto finish = [&](int i, int j, Lanes sum) {
    if (store == Store::add)
      out(i, j) += sum;
    else
      out(i, j) = sum;
  };
  int j = 0;
  for (; j + 2 <= cols; j += 2) {
    int i = 0;
    for (; i + 4 <= rows; i += 4) {
      Lanes s00 = a(i, 0) * b(0, j), s10 = a(i + 1, 0) * b(0, j), s20 = a(i + 2, 0) * b(0, j),
            s30 = a(i + 3, 0) * b(0, j);
      Lanes s01 = a(i, 0) * b(0, j + 1), s11 = a(i + 1, 0) * b(0, j + 1),
            s21 = a(i + 2, 0) * b(0, j + 1), s31 = a(i + 3, 0) * b(0, j + 1);
      for (int k = 1; k < depth; ++k) {
        const Lanes b0 = b(k, j), b1 = b(k, j + 1);
        const Lanes a0 = a(i, k), a1 = a(i + 1, k), a2 = a(i + 2, k), a3 = a(i + 3, k);
        s00 += a0 * b0;
        s10 += a1 * b0;
        s20 += a2 * b0;
        s30 += a3 * b0;
        s01 += a0 * b1;
        s11 += a1 * b1;
        s21 += a2 * b1;
        s31 += a3 * b1;
      }
      finish(i, j, s00), finish(i + 1, j, s10), finish(i + 2, j, s20), finish(i + 3, j, s30);
      finish(i, j + 1, s01), finish(i + 1, j + 1, s11), finish(i + 2, j + 1, s21);
      finish(i + 3, j + 1, s31);
    }
    for (; i < rows; ++i) {
      Lanes s0 = a(i, 0) * b(0, j), s1 = a(i, 0) * b(0, j + 1);
      for (int k = 1; k < depth; ++k) {
        s0 += a(i, k) * b(k, j);
        s1 += a(i, k) * b(k, j + 1);
      }
      finish(i, j, s0), finish(i, j + 1, s1);
    }
  }
  for (; j < cols; ++j)
    for (int i = 0; i < rows; ++i) {
      Lanes s = a(i, 0) * b(0, j);
      for (int k = 1; k < depth; ++k) s += a(i, k) * b(k, j);
      finish(i, j, s);
    }
}

}  // namespace icl::lanes
