// Binary encoding helpers for on-disk formats (checkpoints, stored vectors,
// history logs): little-endian fixed-width integers, LEB128 varints, zigzag
// for signed values, length-prefixed strings, and CRC-32C. Decoding goes
// through Decoder, which checks every read against the end of the input and
// reports truncation instead of reading past it.

#ifndef EDDY_BASE_CODING_H_
#define EDDY_BASE_CODING_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "eddy/status.h"

namespace eddy {

void PutFixed32(std::string& out, uint32_t v);
void PutFixed64(std::string& out, uint64_t v);
void PutVarint64(std::string& out, uint64_t v);
inline void PutVarint32(std::string& out, uint32_t v) { PutVarint64(out, v); }
inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}
inline void PutSigned(std::string& out, int64_t v) { PutVarint64(out, ZigZag(v)); }
void PutDouble(std::string& out, double v);
// Varint length, then the bytes.
void PutString(std::string& out, std::string_view s);

// CRC-32C (Castagnoli) of `data`, continuing from `crc` (0 to start).
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);

// Reads what the Put functions wrote. Every getter returns false once the
// input is exhausted or malformed; `status()` then says what and where.
class ByteReader {
 public:
  explicit ByteReader(std::string_view data, std::string_view what = "input")
      : data_(data), what_(what) {}

  bool Fixed32(uint32_t& v);
  bool Fixed64(uint64_t& v);
  bool Varint64(uint64_t& v);
  bool Varint32(uint32_t& v);
  bool Signed(int64_t& v);
  bool Double(double& v);
  // A view into the input.
  bool String(std::string_view& s);
  bool Bytes(size_t n, std::string_view& s);
  bool Byte(uint8_t& b);

  bool ok() const { return error_.empty(); }
  bool at_end() const { return pos_ == data_.size(); }
  size_t position() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  // Records a format error found by the caller.
  void Fail(std::string_view why);
  Status status() const;

 private:
  bool Need(size_t n, std::string_view what);
  std::string_view data_;
  std::string_view what_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace eddy

#endif  // EDDY_BASE_CODING_H_
