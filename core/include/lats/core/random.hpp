#pragma once
/// \file random.hpp
/// A small, portable, seedable random number generator. Unlike the std distributions, its
/// output is specified bit for bit, so the same seed gives the same meshes, initial
/// conditions and parameters on every platform and for any number of ranks.

#include <cmath>
#include <cstdint>

namespace lats {

/// SplitMix64 (Steele, Lea, Flood 2014). Not cryptographic; fast and well mixed.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  /// A stream derived from (seed, stream): independent sequences for trajectory i, mode k...
  SplitMix64(std::uint64_t seed, std::uint64_t stream) : state_(mix(seed ^ mix(stream + 0x9E3779B97F4A7C15ull))) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    return mix(z);
  }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Standard normal (Box-Muller; uses two uniforms per call, no cached state).
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  /// Uniform integer in [0, n).
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }

 private:
  static std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::uint64_t state_;
};

}  // namespace lats
