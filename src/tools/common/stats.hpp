// Latency histogram (`steadyws bench`): log-linear buckets (HdrHistogram's layout, scaled
// down) over nanoseconds, so recording is two shifts and an increment and percentiles are
// within ~3 % (32 sub-buckets per power of two). Fixed size (16 KiB): no allocation per
// sample. Histograms of different threads are merged after the run.
//
// Not thread-safe: one per worker thread.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace steadyws::tools {

class LatencyHistogram {
 public:
  // Records one sample in nanoseconds (negative clock skew is clamped to 0).
  void record(std::int64_t ns) {
    const auto v = static_cast<std::uint64_t>(std::max<std::int64_t>(ns, 0));
    ++counts_[index_of(v)];
    ++count_;
    max_ = std::max(max_, v);
  }

  void merge(const LatencyHistogram& other) {
    for (std::size_t i = 0; i < kBuckets; ++i)
      counts_[i] += other.counts_[i];
    count_ += other.count_;
    max_ = std::max(max_, other.max_);
  }

  void reset() { *this = LatencyHistogram{}; }

  std::uint64_t count() const { return count_; }
  std::uint64_t max_ns() const { return max_; }

  // The value at quantile q in [0, 1], ns: the upper edge of its bucket, capped at the max.
  // 0 with no samples.
  std::uint64_t quantile_ns(double q) const {
    if (count_ == 0)
      return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_));
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank)
        return std::min(upper_of(i), max_);
    }
    return max_;
  }

 private:
  static constexpr unsigned kSubBits = 5;  // 32 sub-buckets per power of two
  static constexpr std::size_t kSub = std::size_t{1} << kSubBits;
  static constexpr std::size_t kBuckets = (64 - kSubBits + 1) * kSub;

  static std::size_t index_of(std::uint64_t v) {
    if (v < kSub)
      return static_cast<std::size_t>(v);
    const unsigned msb = 63 - static_cast<unsigned>(std::countl_zero(v));
    const unsigned shift = msb - kSubBits;
    const auto sub = static_cast<std::size_t>((v >> shift) & (kSub - 1));
    return (shift + 1) * kSub + sub;
  }
  static std::uint64_t upper_of(std::size_t i) {
    if (i < kSub)
      return i;
    const std::size_t shift = i / kSub - 1;
    const std::uint64_t sub = i % kSub;
    return ((kSub + sub + 1) << shift) - 1;
  }

  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace steadyws::tools
