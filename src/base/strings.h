// Small string helpers used across modules: concatenation without iostreams,
// exact number formatting, quoting for error messages, and "did you mean"
// suggestions for misspelt names.

#ifndef EDDY_BASE_STRINGS_H_
#define EDDY_BASE_STRINGS_H_

#include <charconv>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace eddy {

// Appends the shortest decimal text that reads back to exactly `v`
// (std::to_chars round-trip form). NaN and infinities append "nan", "inf",
// "-inf"; callers that write JSON must not pass them.
void AppendDouble(std::string& out, double v);
void AppendInt(std::string& out, int64_t v);

namespace internal {
inline void StrAppendOne(std::string& out, std::string_view s) { out.append(s); }
inline void StrAppendOne(std::string& out, const char* s) { out.append(s); }
inline void StrAppendOne(std::string& out, const std::string& s) { out.append(s); }
inline void StrAppendOne(std::string& out, char c) { out.push_back(c); }
template <typename T>
requires(std::is_integral_v<T> && !std::is_same_v<T, char> &&
         !std::is_same_v<T, bool>) void StrAppendOne(std::string& out, T v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}
inline void StrAppendOne(std::string& out, bool v) { out.append(v ? "true" : "false"); }
inline void StrAppendOne(std::string& out, double v) { AppendDouble(out, v); }
}  // namespace internal

template <typename... Args>
std::string StrCat(const Args&... args) {
  std::string out;
  (internal::StrAppendOne(out, args), ...);
  return out;
}

template <typename... Args>
void StrAppend(std::string& out, const Args&... args) {
  (internal::StrAppendOne(out, args), ...);
}

// Joins items with `sep`, each passed through Quote() when `quote` is set.
std::string StrJoin(std::span<const std::string> items, std::string_view sep, bool quote = false);

// 'text' with non-printable bytes escaped and long text shortened with "...",
// for use inside error messages. The result is valid UTF-8 whatever `text`
// holds: bytes that are not part of well-formed UTF-8 are escaped as \xNN,
// and shortening never splits a character.
std::string Quote(std::string_view text, size_t max_len = 80);

// Levenshtein distance between two ASCII strings.
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `name` if it is near enough to be a likely typo,
// else empty. Used for "unknown key 'x' (did you mean 'y'?)".
std::string SuggestName(std::string_view name, std::span<const std::string> candidates);

// Removes ASCII whitespace at both ends.
std::string_view Trim(std::string_view s);

bool StartsWith(std::string_view s, std::string_view prefix);
bool EndsWith(std::string_view s, std::string_view suffix);

}  // namespace eddy

#endif  // EDDY_BASE_STRINGS_H_
