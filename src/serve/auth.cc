#include "serve/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/logging.h"
#include "base/strings.h"

namespace eddy {

namespace {

constexpr size_t kMinTokenLength = 16;
constexpr size_t kMaxTokenLength = 512;
constexpr size_t kMaxNameLength = 64;

bool TokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '~' || c == '+' || c == '/' || c == '=' || c == '-';
}

bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '@' || c == ':' || c == '-';
}

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsBlank(line[i])) ++i;
    size_t start = i;
    while (i < line.size() && !IsBlank(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

const EVP_MD* Sha256Md() {
  // Fetched once: OpenSSL 3's implicit fetch in EVP_sha256() takes locks on
  // every call.
  static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

}  // namespace

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kIngest:
      return "ingest";
    case Role::kRead:
      return "read";
    case Role::kPredict:
      return "predict";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (int i = 0; i < kNumRoles; ++i) {
    Role r = static_cast<Role>(i);
    if (RoleName(r) == name) return r;
  }
  return std::nullopt;
}

std::string RoleSet::ToString() const {
  std::string out;
  for (int i = 0; i < kNumRoles; ++i) {
    Role r = static_cast<Role>(i);
    if (!Has(r)) continue;
    if (!out.empty()) out += ',';
    out += RoleName(r);
  }
  return out;
}

const Principal& Principal::Anonymous() {
  static const Principal* p = new Principal{"anonymous", RoleSet()};
  return *p;
}

const Principal& Principal::Unrestricted() {
  static const Principal* p = new Principal{"anonymous", RoleSet::All()};
  return *p;
}

size_t TokenStore::DigestHash::operator()(const Digest& d) const {
  size_t h;
  std::memcpy(&h, d.data(), sizeof(h));
  return h;
}

TokenStore::Digest TokenStore::Sha256(std::string_view s) {
  Digest d{};
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), d.data(), &len, Sha256Md(), nullptr);
  return d;
}

Result<TokenStore> TokenStore::Parse(std::string_view text, std::string_view source) {
  TokenStore store;
  std::unordered_map<Digest, std::string, DigestHash> line_of;
  // Entries are separated by newlines or ';'. Errors name the line (and, on a
  // line with several entries, the entry).
  std::vector<std::pair<std::string_view, std::string>> entries;
  int line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (StartsWith(Trim(line), "#")) continue;
    int entry_no = 0;
    bool several = line.find(';') != std::string_view::npos;
    size_t ep = 0;
    while (ep <= line.size()) {
      size_t se = line.find(';', ep);
      if (se == std::string_view::npos) se = line.size();
      ++entry_no;
      entries.emplace_back(line.substr(ep, se - ep),
                           several ? StrCat(line_no, " (entry ", entry_no, ")") : StrCat(line_no));
      ep = se + 1;
    }
  }
  for (const auto& entry : entries) {
    std::string_view line = entry.first;
    const std::string& this_line = entry.second;
    std::string_view trimmed = Trim(line);
    if (trimmed.empty()) continue;
    auto where = [&] { return StrCat(source, ":", this_line, ": "); };
    std::vector<std::string_view> f = SplitFields(trimmed);
    if (f.size() != 3) {
      return Status::InvalidArgument(StrCat(where(),
                                            "expected '<token> <role>[,<role>...] <name>', got ",
                                            f.size(), f.size() == 1 ? " field" : " fields"));
    }
    std::string_view token = f[0];
    if (token.size() < kMinTokenLength || token.size() > kMaxTokenLength) {
      return Status::InvalidArgument(StrCat(where(), "token is ", token.size(),
                                            " characters; tokens have ", kMinTokenLength, " to ",
                                            kMaxTokenLength));
    }
    for (char c : token) {
      if (!TokenChar(c)) {
        return Status::InvalidArgument(
            StrCat(where(), "token has a character outside [A-Za-z0-9._~+/=-]"));
      }
    }
    RoleSet roles;
    std::string_view role_list = f[1];
    size_t rp = 0;
    while (rp <= role_list.size()) {
      size_t re = role_list.find(',', rp);
      if (re == std::string_view::npos) re = role_list.size();
      std::string_view role = role_list.substr(rp, re - rp);
      rp = re + 1;
      if (role == "all") {
        roles = RoleSet::All();
        continue;
      }
      std::optional<Role> r = ParseRole(role);
      if (!r) {
        return Status::InvalidArgument(StrCat(where(), "unknown role ", Quote(role),
                                              " (roles: ingest, read, predict, admin, all)"));
      }
      roles.Add(*r);
    }
    std::string_view name = f[2];
    if (name.size() > kMaxNameLength) {
      return Status::InvalidArgument(
          StrCat(where(), "name is longer than ", kMaxNameLength, " characters"));
    }
    for (char c : name) {
      if (!NameChar(c)) {
        return Status::InvalidArgument(
            StrCat(where(), "name ", Quote(name), " has a character outside [A-Za-z0-9_.@:-]"));
      }
    }
    Digest d = Sha256(token);
    auto [it, inserted] = line_of.emplace(d, this_line);
    if (!inserted) {
      return Status::InvalidArgument(StrCat(where(), "same token as line ", it->second));
    }
    store.principals_.push_back(std::make_unique<Principal>(Principal{std::string(name), roles}));
    store.by_digest_.emplace(d, store.principals_.back().get());
  }
  return store;
}

Result<TokenStore> TokenStore::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::IoError(
        StrCat("cannot open token file ", Quote(path), ": ", std::strerror(errno)));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IoError(StrCat("cannot read token file ", Quote(path)));
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    EDDY_LOG(Warn) << "token file " << path << " is readable by group or others; chmod 600 it";
  }
  return Parse(ss.str(), path);
}

Result<TokenStore> TokenStore::FromEnv(const char* var) {
  const char* v = std::getenv(var);
  if (v == nullptr || *v == '\0') return TokenStore();
  return Parse(v, StrCat("$", var));
}

Status TokenStore::Merge(TokenStore&& other) {
  for (const auto& [digest, p] : other.by_digest_) {
    if (by_digest_.count(digest) != 0) {
      return Status::InvalidArgument(
          StrCat("token of ", Quote(p->name), " is defined in two token sources"));
    }
  }
  for (auto& p : other.principals_) principals_.push_back(std::move(p));
  by_digest_.merge(other.by_digest_);
  other = TokenStore();
  return Status::OK();
}

const Principal* TokenStore::Authenticate(std::string_view token) const {
  if (token.empty() || token.size() > kMaxTokenLength) return nullptr;
  Digest d = Sha256(token);
  auto it = by_digest_.find(d);
  if (it == by_digest_.end()) return nullptr;
  // The table compared digests with memcmp; confirm in constant time anyway so
  // that no early-exit comparison is the last word.
  if (CRYPTO_memcmp(it->first.data(), d.data(), d.size()) != 0) return nullptr;
  return it->second;
}

Result<const Principal*> Authorize(const TokenStore* tokens, std::string_view authorization,
                                   std::optional<Role> required) {
  if (tokens == nullptr) return &Principal::Unrestricted();
  std::string_view token;
  std::string_view h = Trim(authorization);
  constexpr std::string_view kBearer = "bearer";
  if (h.size() > kBearer.size() && IsBlank(h[kBearer.size()])) {
    bool scheme_ok = true;
    for (size_t i = 0; i < kBearer.size(); ++i) {
      char c = h[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != kBearer[i]) scheme_ok = false;
    }
    if (scheme_ok) token = Trim(h.substr(kBearer.size()));
  }
  const Principal* p = token.empty() ? nullptr : tokens->Authenticate(token);
  if (!required) return p != nullptr ? p : &Principal::Anonymous();
  if (p == nullptr) {
    if (h.empty()) {
      return Status::Unauthenticated(
          "this endpoint needs an API token: Authorization: Bearer <token>");
    }
    if (token.empty()) {
      return Status::Unauthenticated("malformed Authorization header; expected 'Bearer <token>'");
    }
    return Status::Unauthenticated("unknown API token");
  }
  if (!p->roles.Has(*required)) {
    return Status::PermissionDenied(StrCat("principal ", Quote(p->name), " lacks role '",
                                           RoleName(*required), "' needed by this endpoint"));
  }
  return p;
}

}  // namespace eddy
