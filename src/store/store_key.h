// The key under which the online store keeps the vector of (group, key)
// (docs/formats/online-store.md):
//
//   varint32 length of group | group bytes | key bytes
//
// The length prefix makes the encoding of the group prefix-free, so two
// groups never share a key ("ab"+"c" and "a"+"bc" differ) and all keys of one
// group are contiguous in RocksDB's byte order: a group can be scanned with
// the prefix EncodeStoreKeyPrefix(group). Internal to the store.

#ifndef EDDY_STORE_STORE_KEY_H_
#define EDDY_STORE_STORE_KEY_H_

#include <string>
#include <string_view>

#include "base/coding.h"

namespace eddy {

// Appends the prefix shared by every key of `group`.
inline void AppendStoreKeyPrefix(std::string& out, std::string_view group) {
  PutString(out, group);
}

inline void AppendStoreKey(std::string& out, std::string_view group, std::string_view key) {
  PutString(out, group);
  out.append(key);
}

inline std::string EncodeStoreKey(std::string_view group, std::string_view key) {
  std::string out;
  out.reserve(group.size() + key.size() + 2);
  AppendStoreKey(out, group, key);
  return out;
}

// Splits a stored key back into group and key; false when it is malformed.
inline bool DecodeStoreKey(std::string_view stored, std::string_view& group,
                           std::string_view& key) {
  ByteReader r(stored, "store key");
  if (!r.String(group)) return false;
  key = stored.substr(r.position());
  return true;
}

}  // namespace eddy

#endif  // EDDY_STORE_STORE_KEY_H_
