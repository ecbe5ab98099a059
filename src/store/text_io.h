// Text I/O of the offline store (history export, training sets): a small
// JSON reader for `groups.json` and label rows, an RFC 4180 CSV record
// reader for label files, CSV cell quoting, and an output file that appears
// under its final name only once it is complete.
//
// Why a JSON reader here: the store may not depend on ingest's simdjson
// decoder (which needs a typed schema; a label may be any JSON value) nor on
// the model module's Boost.JSON DOM. Label rows and groups.json are small and
// not on a hot path, so a plain recursive-descent parser is enough.
//
// Everything here is internal to src/store. One thread uses an object.

#ifndef EDDY_STORE_TEXT_IO_H_
#define EDDY_STORE_TEXT_IO_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "eddy/status.h"
#include "features/feature_value.h"

namespace eddy::store_internal {

// One JSON value. raw() views the input passed to ParseJson, which must
// outlive the value.
class JsonValue {
 public:
  enum class Type : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool bool_value() const { return bool_; }
  // The value's text as it appears in the input (for numbers: the token).
  std::string_view raw() const { return raw_; }
  // Strings: the decoded text (valid UTF-8).
  const std::string& str() const { return str_; }
  // Arrays: the elements. Objects: the member values, parallel to keys().
  const std::vector<JsonValue>& items() const { return items_; }
  const std::vector<std::string>& keys() const { return keys_; }
  // The first member of an object called `key`, or nullptr.
  const JsonValue* Find(std::string_view key) const;

  // "null", "a boolean", "a number", "a string", "an array", "an object".
  static std::string_view Describe(Type t);

 private:
  friend class JsonParser;
  Type type_ = Type::kNull;
  bool bool_ = false;
  std::string_view raw_;
  std::string str_;
  std::vector<JsonValue> items_;
  std::vector<std::string> keys_;
};

// Parses one JSON document (RFC 8259) surrounded by optional whitespace.
// Input must be UTF-8; nesting is limited to 64 levels. Errors say what was
// expected and at which byte offset.
Status ParseJson(std::string_view text, JsonValue& out);

// True if `text` is a JSON number (RFC 8259 grammar: no leading zeros, no
// leading '+', no bare '.').
bool IsJsonNumber(std::string_view text);

// Reads a text file line by line (lines end at '\n'; a '\r' before it is
// dropped). Any line length; memory is one line.
class LineReader {
 public:
  static Result<std::unique_ptr<LineReader>> Open(const std::string& path);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line without its terminator; false at the end of the file.
  // A read error is returned as a Status.
  Result<bool> Next(std::string& line);
  // 1-based number of the line last returned.
  uint64_t line_number() const { return line_number_; }
  const std::string& path() const { return path_; }

 private:
  LineReader(std::string path, std::FILE* f) : path_(std::move(path)), file_(f) {}
  std::string path_;
  std::FILE* file_;
  char* buf_ = nullptr;
  size_t cap_ = 0;
  uint64_t line_number_ = 0;
};

// One CSV record (RFC 4180). An unquoted empty cell is null; a quoted empty
// cell ("") is the empty string: `quoted` tells them apart.
struct CsvRecord {
  std::vector<std::string> cells;
  std::vector<bool> quoted;
  uint64_t line = 0;  // 1-based line the record starts on
  std::string error;  // non-empty: the record is malformed (the reason)
};

// Reads CSV records from a file: cells separated by ',', records by '\n' or
// "\r\n" outside quotes; a quoted cell may hold ',', '"' (doubled) and line
// breaks. Blank lines are skipped.
class CsvReader {
 public:
  static Result<std::unique_ptr<CsvReader>> Open(const std::string& path);
  // The next record; false at the end of the file. A malformed record comes
  // back with `error` set (an unterminated quote, text after a closing quote).
  Result<bool> Next(CsvRecord& record);
  const std::string& path() const { return lines_->path(); }

 private:
  explicit CsvReader(std::unique_ptr<LineReader> lines) : lines_(std::move(lines)) {}
  std::unique_ptr<LineReader> lines_;
  std::string line_;
};

// Appends `text` as a CSV cell, quoted when it holds ',', '"', '\r' or '\n'
// or is empty (so an empty string reads back as "", not as null).
void AppendCsvText(std::string& out, std::string_view text);
// Appends a feature value as a CSV cell: null is an empty cell, strings as
// text, lists as JSON array text, numbers and booleans as in JSON.
void AppendCsvValue(std::string& out, const FeatureValue& v);
// True if the value's strings (string or list elements) are valid UTF-8.
bool FeatureValueIsUtf8(const FeatureValue& v);

// A file written in full or not at all: bytes go to a temporary file next to
// `path` (created with its parent directories), which Commit() renames to
// `path`. Destroying an uncommitted file removes the temporary file.
class OutputFile {
 public:
  static Result<std::unique_ptr<OutputFile>> Create(const std::string& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // Append to buffer(), then call MaybeWrite() now and then.
  std::string& buffer() { return buffer_; }
  // Writes the buffer to the file once it holds 1 MiB or more.
  Status MaybeWrite() { return buffer_.size() >= (1u << 20) ? Write() : Status::OK(); }
  // Writes what is buffered, closes, and renames to the final path.
  Status Commit();
  const std::string& path() const { return path_; }

 private:
  OutputFile(std::string path, std::string tmp, int fd)
      : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd) {}
  Status Write();
  std::string path_;
  std::string tmp_;
  int fd_;
  bool committed_ = false;
  std::string buffer_;
};

// Creates `dir` and its missing parents.
Status MakeDirs(const std::string& dir);
// Writes all of `data` to `fd` (retrying short writes and EINTR).
Status WriteAll(int fd, std::string_view data, const std::string& path);

}  // namespace eddy::store_internal

#endif  // EDDY_STORE_TEXT_IO_H_
