// Hashes with documented, stable definitions: they decide which weight a
// categorical value lands on and whether a snapshot is intact, so they must
// never change silently (docs/reference/models.md).
//
//  - MurmurHash3_x86_32 and MurmurHash3_x64_128: Austin Appleby's public
//    domain reference algorithms, bit for bit (little-endian reads).
//  - Crc32c: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), initial
//    value and final xor 0xFFFFFFFF; Crc32c("123456789") == 0xE3069283.
//  - FeatureHasher: h = MurmurHash3_x86_32(field + "=" + value, seed);
//    index = h mod 2^bits; with signed hashing the value is -1 when bit 31 of h
//    is set and +1 otherwise.

#ifndef EDDY_MODEL_HASHING_H_
#define EDDY_MODEL_HASHING_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace eddy {

uint32_t MurmurHash3_x86_32(std::string_view data, uint32_t seed);
std::array<uint64_t, 2> MurmurHash3_x64_128(std::string_view data, uint32_t seed);

// The content hash of a model file: MurmurHash3_x64_128(bytes, 0) as 32
// lowercase hex digits, first word first.
std::string ContentHash(std::string_view bytes);

uint32_t Crc32c(std::string_view data);

// Maps (field, value) to a weight index and sign. Cheap to copy; thread-safe.
class FeatureHasher {
 public:
  // REQUIRES: 1 <= bits <= 24 (checked by the learner's option validation).
  FeatureHasher(int bits, uint32_t seed, bool signed_hash)
      : mask_((uint32_t{1} << bits) - 1), seed_(seed), signed_(signed_hash) {}

  struct Slot {
    uint32_t index;
    double sign;  // +1, or -1 with signed hashing
  };
  Slot Hash(std::string_view field, std::string_view value) const;

  uint32_t size() const { return mask_ + 1; }

 private:
  uint32_t mask_;
  uint32_t seed_;
  bool signed_;
};

}  // namespace eddy

#endif  // EDDY_MODEL_HASHING_H_
