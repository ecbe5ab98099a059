#include "base/strings.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/utf8.h"

namespace eddy {

void AppendDouble(std::string& out, double v) {
  if (std::isnan(v)) {
    out.append("nan");
    return;
  }
  if (std::isinf(v)) {
    out.append(v > 0 ? "inf" : "-inf");
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

std::string StrJoin(std::span<const std::string> items, std::string_view sep, bool quote) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.append(sep);
    out.append(quote ? Quote(items[i]) : items[i]);
  }
  return out;
}

namespace {

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 if none does.
size_t Utf8SequenceAt(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t len = c >= 0xC2 && c <= 0xDF   ? 2
               : c >= 0xE0 && c <= 0xEF ? 3
               : c >= 0xF0 && c <= 0xF4 ? 4
                                        : 0;
  if (len == 0 || i + len > s.size()) return 0;
  std::string_view seq = s.substr(i, len);
  return FirstInvalidUtf8(seq) == len ? len : 0;
}

}  // namespace

std::string Quote(std::string_view text, size_t max_len) {
  // The result is always valid UTF-8 (messages end up in JSON output): bytes
  // that are not part of a well-formed sequence are escaped, and shortening
  // never splits a character.
  std::string out = "'";
  size_t n = std::min(text.size(), max_len);
  size_t i = 0;
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t len = c >= 0x80 ? Utf8SequenceAt(text, i) : 0;
    if (len > 0) {
      if (i + len > n) break;  // the character does not fit in max_len
      out.append(text.substr(i, len));
      i += len;
      continue;
    }
    if (c == '\n') {
      out.append("\\n");
    } else if (c == '\r') {
      out.append("\\r");
    } else if (c == '\t') {
      out.append("\\t");
    } else if (c < 0x20 || c >= 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out.append("\\x");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
    ++i;
  }
  if (i < text.size()) out.append("...");
  out.push_back('\'');
  return out;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string SuggestName(std::string_view name, std::span<const std::string> candidates) {
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& c : candidates) {
    size_t d = EditDistance(name, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  // Accept up to a third of the name's length in edits (at least 1, at most 3),
  // or a candidate that starts with the name (a truncated key).
  size_t limit = std::clamp<size_t>(name.size() / 3, 1, 3);
  if (best_d <= limit) return best;
  for (const auto& c : candidates) {
    if (name.size() >= 4 && StartsWith(c, name)) return c;
  }
  return "";
}

std::string_view Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\n' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\n' || s[e - 1] == '\r'))
    --e;
  return s.substr(b, e - b);
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace eddy
