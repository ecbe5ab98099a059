// Strong integer types for quantities that cross module boundaries. A
// Partition cannot be passed where an Offset is expected, and neither converts
// silently to or from a plain integer.

#ifndef EDDY_BASE_TYPES_H_
#define EDDY_BASE_TYPES_H_

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>

namespace eddy {

template <typename Tag, typename Rep>
class StrongInt {
 public:
  using rep = Rep;
  constexpr StrongInt() = default;
  constexpr explicit StrongInt(Rep v) : v_(v) {}
  constexpr Rep value() const { return v_; }
  constexpr auto operator<=>(const StrongInt&) const = default;
  StrongInt& operator++() {
    ++v_;
    return *this;
  }
  constexpr StrongInt next() const { return StrongInt(v_ + 1); }
  friend std::ostream& operator<<(std::ostream& os, StrongInt s) { return os << s.v_; }

 private:
  Rep v_ = 0;
};

// The index of a partition within a source: a file of a directory, a Kafka
// partition. Every record carries its (partition, offset).
using Partition = StrongInt<struct PartitionTag, int32_t>;
// A record's position within its partition. For files it is the 0-based index
// of the line the record starts on (so line number = offset + 1); for Kafka it
// is the Kafka offset. Offsets increase within a partition.
using Offset = StrongInt<struct OffsetTag, int64_t>;

}  // namespace eddy

template <typename Tag, typename Rep>
struct std::hash<eddy::StrongInt<Tag, Rep>> {
  size_t operator()(eddy::StrongInt<Tag, Rep> s) const { return std::hash<Rep>()(s.value()); }
};

#endif  // EDDY_BASE_TYPES_H_
