// API tokens and roles.
//
// A token is an opaque secret a client sends as `Authorization: Bearer
// <token>`. Each token belongs to a named principal (a service, a person)
// and grants a set of roles; each route declares the one role it needs.
// Roles are independent: "admin" does not imply "predict". "all" in a token
// file grants every role.
//
//   role     what it allows
//   ingest   send events into sources
//   read     read features, metadata, readiness and /metrics
//   predict  score requests and send feedback
//   admin    registry operations (promote, roll back) and other changes
//
// Token file format (also the value of an environment variable, where ';'
// may separate entries as well as newlines), one token per line:
//
//   # comment
//   <token> <role>[,<role>...] <name>
//
// Tokens are 16 to 512 characters of [A-Za-z0-9._~+/=-] (base64, base64url
// and hex all fit); a token appears once. Names are 1 to 64 characters of
// [A-Za-z0-9_.@:-]; two tokens may share a name (rotation: the old and the
// new token of one service). Fields are separated by spaces or tabs.
// Parsing reports the source and line of the first error, never the token.
//
// Secrets. The store keeps only the SHA-256 digest of each token; lookups
// hash the presented token, find the digest in a hash table and confirm with
// CRYPTO_memcmp (constant time). Timing therefore depends only on the digest
// of what the caller sent, which tells an attacker nothing about any real
// token. Tokens are never logged: logs and the audit log see the principal's
// name.
//
// Thread safety: a TokenStore is immutable once built; Authenticate and
// Authorize may be called from any number of threads.

#ifndef EDDY_SERVE_AUTH_H_
#define EDDY_SERVE_AUTH_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "eddy/status.h"

namespace eddy {

enum class Role : uint8_t { kIngest = 0, kRead = 1, kPredict = 2, kAdmin = 3 };
inline constexpr int kNumRoles = 4;

std::string_view RoleName(Role r);
// "ingest", "read", "predict", "admin" (case-sensitive).
std::optional<Role> ParseRole(std::string_view name);

class RoleSet {
 public:
  constexpr RoleSet() = default;
  static constexpr RoleSet All() { return RoleSet((1u << kNumRoles) - 1); }
  constexpr bool Has(Role r) const { return (bits_ >> static_cast<unsigned>(r)) & 1u; }
  constexpr void Add(Role r) { bits_ |= 1u << static_cast<unsigned>(r); }
  constexpr bool empty() const { return bits_ == 0; }
  // "predict,read" in role order; "" when empty.
  std::string ToString() const;
  friend constexpr bool operator==(RoleSet a, RoleSet b) { return a.bits_ == b.bits_; }

 private:
  constexpr explicit RoleSet(unsigned bits) : bits_(bits) {}
  unsigned bits_ = 0;
};

// Who a request comes from, as logs and the audit log name it.
struct Principal {
  std::string name;
  RoleSet roles;

  // "anonymous" with no roles: callers of public routes.
  static const Principal& Anonymous();
  // "anonymous" with every role: callers when authentication is off.
  static const Principal& Unrestricted();
};

class TokenStore {
 public:
  TokenStore() = default;
  TokenStore(TokenStore&&) noexcept = default;
  TokenStore& operator=(TokenStore&&) noexcept = default;

  // Parses the format above. `source` names the text in errors ("tokens.txt",
  // "$EDDY_API_TOKENS").
  static Result<TokenStore> Parse(std::string_view text, std::string_view source);
  // Reads and parses a token file. Warns (EDDY_LOG) when the file is readable
  // by group or others.
  static Result<TokenStore> LoadFile(const std::string& path);
  // Parses the environment variable `var`; an unset or empty variable gives
  // an empty store.
  static Result<TokenStore> FromEnv(const char* var);

  // Adds every entry of `other`; a token or name present in both is an
  // error.
  Status Merge(TokenStore&& other);

  // The principal holding `token`, or null. Constant time in the token's
  // content (see the file comment).
  const Principal* Authenticate(std::string_view token) const;

  size_t size() const { return principals_.size(); }
  bool empty() const { return principals_.empty(); }

 private:
  using Digest = std::array<unsigned char, 32>;
  struct DigestHash {
    size_t operator()(const Digest& d) const;
  };
  static Digest Sha256(std::string_view s);

  // Stable addresses: requests hold Principal pointers.
  std::vector<std::unique_ptr<Principal>> principals_;
  std::unordered_map<Digest, const Principal*, DigestHash> by_digest_;
};

// Decides whether a request may use a route that needs `required` (nullopt:
// a public route). `authorization` is the request's Authorization header
// ("" when absent); `tokens` null means authentication is off.
//   - public route: the token's principal when a valid one is sent, else
//     Anonymous (never an error);
//   - auth off: Unrestricted;
//   - no or malformed header, or unknown token: Unauthenticated (401);
//   - known token without the role: PermissionDenied (403), naming the
//     principal and the role.
Result<const Principal*> Authorize(const TokenStore* tokens, std::string_view authorization,
                                   std::optional<Role> required);

}  // namespace eddy

#endif  // EDDY_SERVE_AUTH_H_
