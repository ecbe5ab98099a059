#include "store/text_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/strings.h"
#include "base/utf8.h"

namespace eddy::store_internal {

// ---------------------------------------------------------------- JSON

const JsonValue* JsonValue::Find(std::string_view key) const {
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) return &items_[i];
  }
  return nullptr;
}

std::string_view JsonValue::Describe(Type t) {
  switch (t) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "a boolean";
    case Type::kNumber:
      return "a number";
    case Type::kString:
      return "a string";
    case Type::kArray:
      return "an array";
    case Type::kObject:
      return "an object";
  }
  return "?";
}

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Length of the JSON number at the start of `s`, or 0 if there is none.
size_t NumberLength(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size() || !IsDigit(s[i])) return 0;
  if (s[i] == '0') {
    ++i;
  } else {
    while (i < s.size() && IsDigit(s[i])) ++i;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (i >= s.size() || !IsDigit(s[i])) return 0;
    while (i < s.size() && IsDigit(s[i])) ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= s.size() || !IsDigit(s[i])) return 0;
    while (i < s.size() && IsDigit(s[i])) ++i;
  }
  return i;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

constexpr int kMaxDepth = 64;

}  // namespace

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : s_(text) {}

  Status Parse(JsonValue& out) {
    size_t bad = FirstInvalidUtf8(s_);
    if (bad != s_.size()) return Status::InvalidArgument(StrCat("not UTF-8 at byte ", bad));
    SkipSpace();
    if (!Value(out, 0)) return Error();
    SkipSpace();
    if (pos_ != s_.size()) {
      Fail("end of input after the JSON value");
      return Error();
    }
    return Status::OK();
  }

 private:
  Status Error() const { return Status::InvalidArgument(error_); }

  bool Fail(std::string_view expected) {
    if (error_.empty()) {
      if (pos_ >= s_.size()) {
        error_ = StrCat("expected ", expected, " at byte ", pos_, " (end of input)");
      } else {
        error_ = StrCat("expected ", expected, " at byte ", pos_, ", found ",
                        Quote(s_.substr(pos_, 12), 12));
      }
    }
    return false;
  }

  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return Fail("a JSON value");
    pos_ += word.size();
    return true;
  }

  bool Value(JsonValue& v, int depth) {
    if (pos_ >= s_.size()) return Fail("a JSON value");
    const size_t start = pos_;
    bool ok;
    switch (s_[pos_]) {
      case '{':
        ok = Object(v, depth);
        break;
      case '[':
        ok = Array(v, depth);
        break;
      case '"':
        v.type_ = JsonValue::Type::kString;
        ok = String(v.str_);
        break;
      case 't':
        v.type_ = JsonValue::Type::kBool;
        v.bool_ = true;
        ok = Literal("true");
        break;
      case 'f':
        v.type_ = JsonValue::Type::kBool;
        ok = Literal("false");
        break;
      case 'n':
        v.type_ = JsonValue::Type::kNull;
        ok = Literal("null");
        break;
      default: {
        size_t n = NumberLength(s_.substr(pos_));
        if (n == 0) return Fail("a JSON value");
        v.type_ = JsonValue::Type::kNumber;
        pos_ += n;
        ok = true;
      }
    }
    if (ok) v.raw_ = s_.substr(start, pos_ - start);
    return ok;
  }

  bool Object(JsonValue& v, int depth) {
    if (depth >= kMaxDepth) return Fail(StrCat("at most ", kMaxDepth, " levels of nesting"));
    v.type_ = JsonValue::Type::kObject;
    ++pos_;  // '{'
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') return Fail("a member name in quotes");
      std::string key;
      if (!String(key)) return false;
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') return Fail("':'");
      ++pos_;
      SkipSpace();
      v.keys_.push_back(std::move(key));
      v.items_.emplace_back();
      if (!Value(v.items_.back(), depth + 1)) return false;
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return Fail("',' or '}'");
    }
  }

  bool Array(JsonValue& v, int depth) {
    if (depth >= kMaxDepth) return Fail(StrCat("at most ", kMaxDepth, " levels of nesting"));
    v.type_ = JsonValue::Type::kArray;
    ++pos_;  // '['
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipSpace();
      v.items_.emplace_back();
      if (!Value(v.items_.back(), depth + 1)) return false;
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return Fail("',' or ']'");
    }
  }

  bool Hex4(uint32_t& cp) {
    if (s_.size() - pos_ < 4) return Fail("4 hex digits after \\u");
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      int h = HexValue(s_[pos_ + static_cast<size_t>(i)]);
      if (h < 0) return Fail("4 hex digits after \\u");
      cp = cp * 16 + static_cast<uint32_t>(h);
    }
    pos_ += 4;
    return true;
  }

  bool String(std::string& out) {
    ++pos_;  // opening quote
    out.clear();
    size_t run = pos_;
    while (true) {
      if (pos_ >= s_.size()) return Fail("a closing '\"'");
      char c = s_[pos_];
      if (c == '"') {
        out.append(s_.data() + run, pos_ - run);
        ++pos_;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) return Fail("no control characters in a string");
      if (c != '\\') {
        ++pos_;
        continue;
      }
      out.append(s_.data() + run, pos_ - run);
      ++pos_;
      if (pos_ >= s_.size()) return Fail("an escape after '\\'");
      char e = s_[pos_++];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo = 0;
            if (s_.substr(pos_, 2) != "\\u") return Fail("a low surrogate after a high one");
            pos_ += 2;
            if (!Hex4(lo)) return false;
            if (lo < 0xDC00 || lo > 0xDFFF) return Fail("a low surrogate after a high one");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Fail("no lone low surrogate");
          }
          AppendUtf8(out, cp);
          break;
        }
        default:
          --pos_;
          return Fail("a valid escape");
      }
      run = pos_;
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
};

Status ParseJson(std::string_view text, JsonValue& out) {
  out = JsonValue();
  return JsonParser(text).Parse(out);
}

bool IsJsonNumber(std::string_view text) {
  return !text.empty() && NumberLength(text) == text.size();
}

// ---------------------------------------------------------------- lines

Result<std::unique_ptr<LineReader>> LineReader::Open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rbe");
  if (f == nullptr) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound(StrCat(path, ": no such file"));
    return Status::IoError(StrCat(path, ": cannot open: ", std::strerror(err)));
  }
  return std::unique_ptr<LineReader>(new LineReader(path, f));
}

LineReader::~LineReader() {
  std::free(buf_);
  std::fclose(file_);
}

Result<bool> LineReader::Next(std::string& line) {
  errno = 0;
  ssize_t n = ::getline(&buf_, &cap_, file_);
  if (n < 0) {
    if (std::ferror(file_)) {
      return Status::IoError(StrCat(path_, ": read error: ", std::strerror(errno)));
    }
    return false;
  }
  ++line_number_;
  size_t len = static_cast<size_t>(n);
  if (len > 0 && buf_[len - 1] == '\n') --len;
  if (len > 0 && buf_[len - 1] == '\r') --len;
  line.assign(buf_, len);
  return true;
}

// ---------------------------------------------------------------- CSV

Result<std::unique_ptr<CsvReader>> CsvReader::Open(const std::string& path) {
  EDDY_ASSIGN_OR_RETURN(auto lines, LineReader::Open(path));
  return std::unique_ptr<CsvReader>(new CsvReader(std::move(lines)));
}

namespace {

enum class SplitResult { kDone, kNeedMore, kError };

// Splits the text of one record into cells. kNeedMore: the text ends inside
// a quoted cell (the record goes on on the next line). A '"' only opens a
// quoted cell at the start of a cell.
SplitResult SplitCsv(std::string_view text, CsvRecord& record) {
  record.cells.clear();
  record.quoted.clear();
  size_t i = 0;
  const size_t n = text.size();
  while (true) {
    std::string cell;
    bool quoted = false;
    if (i < n && text[i] == '"') {
      quoted = true;
      ++i;
      while (true) {
        size_t q = text.find('"', i);
        if (q == std::string_view::npos) return SplitResult::kNeedMore;
        cell.append(text.substr(i, q - i));
        i = q + 1;
        if (i < n && text[i] == '"') {
          cell.push_back('"');
          ++i;
          continue;
        }
        break;
      }
      if (i < n && text[i] != ',') {
        record.error = StrCat("text after the closing quote of cell ", record.cells.size() + 1);
        return SplitResult::kError;
      }
    } else {
      size_t end = text.find(',', i);
      if (end == std::string_view::npos) end = n;
      cell.assign(text.substr(i, end - i));
      if (cell.find('"') != std::string::npos) {
        record.error =
            StrCat("cell ", record.cells.size() + 1, " has a '\"' but does not start with one");
        return SplitResult::kError;
      }
      i = end;
    }
    record.cells.push_back(std::move(cell));
    record.quoted.push_back(quoted);
    if (i >= n) return SplitResult::kDone;
    ++i;           // ','
    if (i == n) {  // a trailing comma: one more, empty cell
      record.cells.emplace_back();
      record.quoted.push_back(false);
      return SplitResult::kDone;
    }
  }
}

}  // namespace

Result<bool> CsvReader::Next(CsvRecord& record) {
  record.cells.clear();
  record.quoted.clear();
  record.error.clear();
  while (true) {
    EDDY_ASSIGN_OR_RETURN(bool more, lines_->Next(line_));
    if (!more) return false;
    if (!line_.empty()) break;
  }
  record.line = lines_->line_number();
  // A record is one line, or several while a quoted cell spans line breaks.
  std::string text = line_;
  while (SplitCsv(text, record) == SplitResult::kNeedMore) {
    EDDY_ASSIGN_OR_RETURN(bool more, lines_->Next(line_));
    if (!more) {
      record.error = "a quoted cell is not closed before the end of the file";
      return true;
    }
    text.push_back('\n');
    text.append(line_);
  }
  return true;
}

void AppendCsvText(std::string& out, std::string_view text) {
  if (!text.empty() && text.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(text);
    return;
  }
  out.push_back('"');
  for (char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

void AppendCsvValue(std::string& out, const FeatureValue& v) {
  switch (v.type()) {
    case FeatureValue::Type::kNull:
      return;
    case FeatureValue::Type::kString:
      AppendCsvText(out, v.string_value());
      return;
    case FeatureValue::Type::kList: {
      std::string json;
      v.AppendJson(json);
      AppendCsvText(out, json);
      return;
    }
    default:
      v.AppendJson(out);
      return;
  }
}

bool FeatureValueIsUtf8(const FeatureValue& v) {
  if (v.type() == FeatureValue::Type::kString) return IsValidUtf8(v.string_value());
  if (v.type() == FeatureValue::Type::kList) {
    for (const std::string& s : v.list_value()) {
      if (!IsValidUtf8(s)) return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------- files

Status MakeDirs(const std::string& dir) {
  if (dir.empty()) return Status::OK();
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::OK();
    return Status::FailedPrecondition(StrCat(dir, " exists and is not a directory"));
  }
  size_t slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    EDDY_RETURN_IF_ERROR(MakeDirs(dir.substr(0, slash)));
  }
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::IoError(StrCat(dir, ": cannot create directory: ", std::strerror(errno)));
  }
  return Status::OK();
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(StrCat(path, ": write failed: ", std::strerror(errno)));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

Result<std::unique_ptr<OutputFile>> OutputFile::Create(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    EDDY_RETURN_IF_ERROR(MakeDirs(path.substr(0, slash)));
  }
  std::string tmp = StrCat(path, ".tmp-", static_cast<int64_t>(::getpid()));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IoError(StrCat(path, ": cannot create: ", std::strerror(errno)));
  }
  return std::unique_ptr<OutputFile>(new OutputFile(path, std::move(tmp), fd));
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(tmp_.c_str());
}

Status OutputFile::Write() {
  Status s = WriteAll(fd_, buffer_, path_);
  buffer_.clear();
  return s;
}

Status OutputFile::Commit() {
  EDDY_RETURN_IF_ERROR(Write());
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    return Status::IoError(StrCat(path_, ": write failed on close: ", std::strerror(errno)));
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    return Status::IoError(StrCat(path_, ": cannot rename ", tmp_, ": ", std::strerror(errno)));
  }
  committed_ = true;
  return Status::OK();
}

}  // namespace eddy::store_internal
