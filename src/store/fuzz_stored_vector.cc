// libFuzzer target: DecodeStoredVector on arbitrary bytes (what the online
// store reads back from RocksDB, the history log and checkpoints). The
// decoder may reject the input, but only with kCorruption, and must not
// crash, leak, hang or trip ASan/UBSan. A vector it accepts must survive an
// encode/decode round trip unchanged (the bytes may differ: overlong varints
// decode, and the encoder writes the shortest form).
//
// Build with -DEDDY_FUZZ=ON (clang) and run, e.g.:
//   build/fuzz/bin/fuzz_stored_vector -max_total_time=300 src/store/testdata

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "store/stored_vector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  eddy::Result<eddy::StoredVector> v = eddy::DecodeStoredVector(bytes);
  if (!v.ok()) {
    if (v.status().code() != eddy::StatusCode::kCorruption) std::abort();
    return 0;
  }
  std::string again;
  eddy::EncodeStoredVector(*v, again);
  eddy::Result<eddy::StoredVector> back = eddy::DecodeStoredVector(again);
  if (!back.ok() || !(*back == *v)) std::abort();
  std::string twice;
  eddy::EncodeStoredVector(*back, twice);
  if (twice != again) std::abort();  // the encoding of a vector is canonical
  return 0;
}
