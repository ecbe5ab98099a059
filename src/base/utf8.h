// UTF-8 validation and base64, for bytes that come from outside.

#ifndef EDDY_BASE_UTF8_H_
#define EDDY_BASE_UTF8_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace eddy {

// True if `s` is well-formed UTF-8 (no overlong forms, no surrogates, nothing
// above U+10FFFF). Fast for ASCII.
bool IsValidUtf8(std::string_view s);

// Byte index of the first invalid sequence, or s.size() if valid.
size_t FirstInvalidUtf8(std::string_view s);

// Standard base64 with padding (RFC 4648).
std::string Base64Encode(std::string_view bytes);

}  // namespace eddy

#endif  // EDDY_BASE_UTF8_H_
