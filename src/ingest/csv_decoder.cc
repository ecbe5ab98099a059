// CSV decoding (RFC 4180): a header row names the columns, which are matched
// to schema fields by name, so column order in the file does not matter.
// Quoted cells may hold delimiters, doubled quotes and newlines (the source
// frames such records across lines). An empty unquoted cell is null; a quoted
// empty cell ("") is the empty string.

#include <vector>

#include "base/coding.h"
#include "base/strings.h"
#include "base/utf8.h"
#include "ingest/convert.h"
#include "ingest/decoder.h"

namespace eddy {
namespace {

struct Cell {
  size_t offset;  // into the record, or into scratch when `in_scratch`
  size_t len;
  bool quoted;
  bool in_scratch;
};

class CsvDecoder final : public Decoder {
 public:
  CsvDecoder(const Schema& schema, const CsvSpec& csv) : schema_(schema), csv_(csv) {}

  bool has_header() const override { return true; }

  bool ReadHeader(std::string_view bytes, DecodeError& err) override {
    header_read_ = true;
    header_bytes_.assign(bytes.data(), bytes.size());
    columns_.clear();
    if (!ValidUtf8(bytes, err) || !Split(bytes, err)) return Fail(err);
    std::vector<bool> used(schema_.num_fields(), false);
    for (size_t i = 0; i < cells_.size(); ++i) {
      std::string_view name = Trim(CellText(bytes, cells_[i]));
      int idx = schema_.Lookup(name);
      if (idx >= 0) {
        if (used[idx]) {
          err.Set("bad_header", std::string(name),
                  StrCat("the header names column ", Quote(name), " twice"));
          return Fail(err);
        }
        used[idx] = true;
      } else if (schema_.unknown_fields() == UnknownFieldPolicy::kReject) {
        unknown_column_ = std::string(name);
      }
      columns_.push_back(idx);
    }
    return true;
  }

  void RejectHeader(const DecodeError& err) override {
    header_read_ = true;
    header_bytes_.clear();
    rejected_ = true;
    columns_.clear();
    Fail(err);
  }

  // The header line (or the rejection) is all the state a CSV decoder has.
  void SaveState(std::string& out) const override {
    out.push_back(static_cast<char>(!header_read_ ? 0 : rejected_ ? 2 : 1));
    if (rejected_) {
      PutString(out, header_error_.code);
      PutString(out, header_error_.field);
      PutString(out, header_error_.message);
    } else if (header_read_) {
      PutString(out, header_bytes_);
    }
  }

  Status RestoreState(std::string_view bytes) override {
    ByteReader in(bytes, "CSV decoder state");
    uint8_t kind;
    if (!in.Byte(kind)) return in.status();
    DecodeError err;
    if (kind == 1) {
      std::string_view header;
      if (!in.String(header)) return in.status();
      ReadHeader(header, err);  // a bad header fails again, the same way
    } else if (kind == 2) {
      std::string_view code, field, message;
      if (!in.String(code) || !in.String(field) || !in.String(message)) return in.status();
      // Codes are static strings; map back to the one this build uses.
      err.Set(code == "too_large" ? "too_large" : "bad_header", std::string(field),
              std::string(message));
      RejectHeader(err);
    } else if (kind != 0) {
      return Status::Corruption("CSV decoder state has an unknown kind");
    }
    return Status::OK();
  }

  bool Decode(std::string_view bytes, Row& row, DecodeError& err) override {
    row.Reset(schema_.num_fields());
    if (!header_error_.message.empty()) {
      err.Set("bad_header", header_error_.field,
              StrCat("the header of this file was rejected: ", header_error_.message));
      return false;
    }
    if (!header_read_) {
      err.Set("bad_header", "", "no header row before this record");
      return false;
    }
    if (!ValidUtf8(bytes, err) || !Split(bytes, err)) return false;
    if (cells_.size() != columns_.size()) {
      err.Set("csv_columns", "",
              StrCat("row has ", cells_.size(), " column", cells_.size() == 1 ? "" : "s",
                     ", the header has ", columns_.size()));
      return false;
    }
    if (!unknown_column_.empty()) {
      err.Set("unknown_field", unknown_column_,
              StrCat("column ", Quote(unknown_column_),
                     " is not in the schema (unknown_fields: reject)"));
      return false;
    }
    for (size_t i = 0; i < cells_.size(); ++i) {
      int idx = columns_[i];
      if (idx < 0) continue;
      const Cell& c = cells_[i];
      if (c.len == 0 && !c.quoted) continue;  // null
      const FieldSpec& f = schema_.field(static_cast<size_t>(idx));
      std::string_view text = CellText(bytes, c);
      if (f.type != FieldType::kString) text = Trim(text);
      if (text.empty() && f.type != FieldType::kString) continue;  // blank = null
      if (!ConvertText(text, f, static_cast<size_t>(idx), row, err)) return false;
    }
    return true;
  }

 private:
  bool Fail(const DecodeError& err) {
    header_error_ = DecodeError{err.code, err.field, err.message};
    return false;
  }

  bool ValidUtf8(std::string_view bytes, DecodeError& err) {
    size_t bad = FirstInvalidUtf8(bytes);
    if (bad == bytes.size()) return true;
    err.Set("invalid_utf8", "", StrCat("the record is not valid UTF-8 (at byte ", bad, ")"));
    return false;
  }

  std::string_view CellText(std::string_view bytes, const Cell& c) const {
    if (c.in_scratch) return std::string_view(scratch_).substr(c.offset, c.len);
    return bytes.substr(c.offset, c.len);
  }

  // Splits one record into cells_. Quoted cells without doubled quotes are
  // referenced in place; those with doubled quotes are unescaped into scratch_.
  bool Split(std::string_view s, DecodeError& err) {
    cells_.clear();
    scratch_.clear();
    const char d = csv_.delimiter, q = csv_.quote;
    size_t pos = 0;
    const size_t n = s.size();
    while (true) {
      if (pos < n && s[pos] == q) {
        size_t start = ++pos;
        bool escaped = false;
        size_t scratch_start = scratch_.size();
        while (true) {
          if (pos >= n) {
            err.Set("csv_quote", "", StrCat("unterminated quoted field starting at byte ", start));
            return false;
          }
          if (s[pos] == q) {
            if (pos + 1 < n && s[pos + 1] == q) {
              if (!escaped) {
                scratch_.append(s.data() + start, pos - start);
                escaped = true;
              }
              scratch_.push_back(q);
              pos += 2;
              continue;
            }
            break;
          }
          if (escaped) scratch_.push_back(s[pos]);
          ++pos;
        }
        if (escaped) {
          cells_.push_back({scratch_start, scratch_.size() - scratch_start, true, true});
        } else {
          cells_.push_back({start, pos - start, true, false});
        }
        ++pos;  // closing quote
        if (pos < n && s[pos] != d) {
          err.Set("csv_quote", "",
                  StrCat("unexpected ", Quote(s.substr(pos, 1)), " after a closing quote at byte ",
                         pos));
          return false;
        }
      } else {
        size_t start = pos;
        while (pos < n && s[pos] != d) ++pos;
        cells_.push_back({start, pos - start, false, false});
      }
      if (pos >= n) return true;
      ++pos;  // delimiter
      if (pos == n) {
        cells_.push_back({pos, 0, false, false});  // trailing empty cell
        return true;
      }
    }
  }

  const Schema& schema_;
  CsvSpec csv_;
  bool header_read_ = false;
  bool rejected_ = false;
  std::string header_bytes_;
  DecodeError header_error_;
  std::string unknown_column_;
  std::vector<int> columns_;  // column -> schema index, -1 = undeclared
  std::vector<Cell> cells_;
  std::string scratch_;
};

}  // namespace

std::unique_ptr<Decoder> MakeCsvDecoder(const Schema& schema, const CsvSpec& csv) {
  return std::make_unique<CsvDecoder>(schema, csv);
}

}  // namespace eddy
