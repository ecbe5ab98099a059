// File, directory and stdin sources. Each partition reads its file in 1 MiB
// chunks into a padded buffer and frames records in place: at newlines for
// JSON lines, at newlines outside quoted cells for CSV. Records are handed
// out as views into the buffer, which is compacted only at the start of the
// next poll of that partition, so the views of one batch stay valid together.
//
// A record's bytes and size exclude its line terminator ("\n" or "\r\n").
// A record longer than max_record_bytes is handed out truncated to its
// first 64 KiB, held in a side buffer; a batch ends after such a record so
// that the side buffer is never reused while a view into it is alive.

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "base/check.h"
#include "base/coding.h"
#include "base/strings.h"
#include "ingest/decoder.h"
#include "ingest/source.h"

namespace eddy {
namespace {

constexpr size_t kReadSize = 1 << 20;
constexpr size_t kTruncatedPrefix = 64 * 1024;
constexpr size_t kFingerprintBytes = 4096;

// Where to cut `n` bytes that are the start of a longer record so as not to
// split a UTF-8 sequence: n, or less by the bytes of an incomplete sequence
// at the end. Keeps the prefix of a valid UTF-8 record valid, so dead
// letters show it as text rather than base64.
size_t Utf8CutPoint(const char* p, size_t n) {
  size_t i = n;
  while (i > 0 && n - i < 3 && (static_cast<unsigned char>(p[i - 1]) & 0xC0) == 0x80) --i;
  if (i == 0) return n;
  const unsigned char lead = static_cast<unsigned char>(p[i - 1]);
  const size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  return n - (i - 1) < need ? i - 1 : n;
}

class PartitionReader {
 public:
  PartitionReader(Partition partition, std::string path, std::string display, bool csv,
                  char delimiter, char quote, uint64_t max_record_bytes)
      : partition_(partition),
        path_(std::move(path)),
        display_(std::move(display)),
        csv_(csv),
        delimiter_(delimiter),
        quote_(quote),
        max_record_(max_record_bytes) {}

  ~PartitionReader() {
    if (fd_ > 2) ::close(fd_);
  }

  Status Open() {
    if (path_ == "-") {
      fd_ = STDIN_FILENO;
      stream_ = true;
    } else {
      fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd_ < 0) {
        return Status::NotFound(
            StrCat("cannot open ", Quote(path_, 500), ": ", std::strerror(errno)));
      }
      struct stat st;
      if (::fstat(fd_, &st) == 0 && S_ISDIR(st.st_mode)) {
        return Status::InvalidArgument(StrCat(Quote(path_, 500), " is a directory"));
      }
      stream_ = ::fstat(fd_, &st) == 0 && !S_ISREG(st.st_mode);
    }
    buf_.resize(kReadSize + kRecordPadding);
    return Status::OK();
  }

  const std::string& display() const { return display_; }
  // Follow the file as it grows (tail -f): the end of the file is not the
  // end of the partition.
  void set_follow(bool follow) { follow_ = follow; }
  // Read a stream in the chunks a file of the same bytes is read in
  // (SourceSpec::frame_as_file).
  void set_frame_as_file(bool on) { frame_as_file_ = on; }
  const std::string& path() const { return path_; }

  // Where the next unconsumed record starts: its byte offset in the file and
  // its line index. Taken between polls (a checkpoint).
  struct Position {
    uint64_t byte = 0;
    int64_t line = 0;
    bool header_seen = false;
    bool ended = false;
  };
  Position position() const {
    Position p;
    p.byte = discarding_ ? discard_start_pos_ : file_pos_ - (end_ - begin_);
    p.line = next_line_;
    p.header_seen = header_seen_;
    p.ended = ended_;
    return p;
  }

  // Continues reading from `p` (restoring a checkpoint).
  Status Seek(const Position& p) {
    if (stream_) {
      return Status::FailedPrecondition(
          StrCat(Quote(display_, 500),
                 " is a stream (stdin or a pipe) and cannot resume from a checkpoint: what the "
                 "checkpointed run read cannot be read again; run with --fresh to start over"));
    }
    struct stat st;
    if (::fstat(fd_, &st) != 0 || static_cast<uint64_t>(st.st_size) < p.byte) {
      return Status::FailedPrecondition(
          StrCat(Quote(display_, 500), " is shorter than the checkpoint's position (", p.byte,
                 " bytes): the input changed since the checkpoint; run with --fresh to start "
                 "over"));
    }
    if (p.ended && static_cast<uint64_t>(st.st_size) > p.byte) {
      // The run took the end of this input as final (its watermark went to
      // the end of time, windows closed): records added after it cannot
      // join that run, and ignoring them silently would lose them.
      return Status::FailedPrecondition(
          StrCat(Quote(display_, 500), " grew after the checkpoint, which had read it to its end (",
                 p.byte, " bytes, now ", st.st_size,
                 "): its end was taken as the end of the input; run with --fresh to start over"));
    }
    if (::lseek(fd_, static_cast<off_t>(p.byte), SEEK_SET) < 0) {
      return Status::IoError(StrCat("seeking ", Quote(display_, 500), ": ", std::strerror(errno)));
    }
    file_pos_ = p.byte;
    begin_ = end_ = scan_pos_ = 0;
    in_quote_ = false;
    cell_start_ = true;
    discarding_ = false;
    eof_ = p.ended;
    ended_ = p.ended;
    at_file_start_ = p.byte == 0;
    header_seen_ = p.header_seen;
    next_line_ = p.line;
    // An uninterrupted run held the rest of the chunk the position lies in
    // (reads end at multiples of kReadSize): hold it too, so that the next
    // polls frame the same batches. Without this, a position just before a
    // chunk boundary (in the middle of a record) makes the first poll read
    // only the rest of the chunk and return nothing, where the uninterrupted
    // run returned records: the engine then polls another source at that
    // point, and labels are learned at other points of the stream.
    if (!ended_ && p.byte % kReadSize != 0) {
      const size_t want = kReadSize - static_cast<size_t>(p.byte % kReadSize);
      if (buf_.size() < want + kRecordPadding) buf_.resize(want + kRecordPadding);
      ssize_t n;
      do {
        n = ::read(fd_, buf_.data(), want);
      } while (n < 0 && errno == EINTR);
      if (n < 0) {
        return Status::IoError(
            StrCat("reading ", Quote(display_, 500), ": ", std::strerror(errno)));
      }
      end_ = static_cast<size_t>(n);
      file_pos_ += static_cast<uint64_t>(n);
    }
    return Status::OK();
  }
  // A checksum of the (up to) 4 KiB of the file before byte `pos`, or
  // nothing for a stream or when they cannot be read. Saved with the
  // position, it tells on restore whether the bytes before it were rewritten.
  std::optional<uint32_t> Fingerprint(uint64_t pos) const {
    if (stream_) return std::nullopt;
    const size_t len = static_cast<size_t>(std::min<uint64_t>(pos, kFingerprintBytes));
    char bytes[kFingerprintBytes];
    size_t got = 0;
    while (got < len) {
      ssize_t n = ::pread(fd_, bytes + got, len - got, static_cast<off_t>(pos - len + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::nullopt;
      got += static_cast<size_t>(n);
    }
    return Crc32c(std::string_view(bytes, len));
  }

  bool ended() const { return ended_; }
  bool stream() const { return stream_; }
  int fd() const { return fd_; }

  // Appends up to `max` records. Sets `just_ended` when the partition reached
  // its end in this call. Reads at most once, waiting up to `timeout_ms` on
  // streams.
  Status Poll(size_t max, int timeout_ms, PollBatch& batch, bool& just_ended) {
    just_ended = false;
    if (ended_) return Status::OK();
    if ((discarding_ || !HasCompleteRecord()) && !eof_) {
      EDDY_RETURN_IF_ERROR(ReadMore(timeout_ms, batch));
      if (frame_as_file_ && stream_ && !published_ && !eof_) batch.waiting = true;
    }
    size_t n = 0;
    while (n < max) {
      RawRecord rec;
      if (!NextRecord(rec)) break;
      // Blank lines are reported (the engine counts them) but never headers.
      if (csv_ && !header_seen_ && !(rec.bytes.empty() && !rec.truncated)) {
        rec.is_header = true;
        header_seen_ = true;
      }
      batch.records.push_back(rec);
      ++n;
      // The next oversized record would overwrite prefix_, which `rec` views.
      if (rec.truncated) break;
    }
    if (eof_ && begin_ == end_ && !discarding_) {
      ended_ = true;
      just_ended = true;
    }
    return Status::OK();
  }

 private:
  // True if [begin_, end_) holds a terminated record (scanning resumes where
  // the previous scan stopped).
  bool HasCompleteRecord() { return FindTerminator() != nullptr; }

  // Finds the newline ending the record at begin_, or null. Remembers scan
  // progress and quote state so repeated calls do not rescan.
  //
  // CSV follows RFC 4180 as the decoder does: a quote opens a quoted cell
  // only at the start of a cell; inside one, a quote closes it, and a quote
  // right after that reopens it (a doubled quote). A quote anywhere else is
  // an ordinary character, so a stray one cannot swallow the lines after it.
  const char* FindTerminator() {
    if (scan_pos_ < begin_) scan_pos_ = begin_;
    const char* base = buf_.data();
    if (!csv_) {
      const void* nl = std::memchr(base + scan_pos_, '\n', end_ - scan_pos_);
      if (nl == nullptr) {
        scan_pos_ = end_;
        return nullptr;
      }
      return static_cast<const char*>(nl);
    }
    for (size_t i = scan_pos_; i < end_; ++i) {
      const char c = base[i];
      if (in_quote_) {
        if (c == quote_) {
          in_quote_ = false;
          cell_start_ = true;  // so that a doubled quote reopens the cell
        }
        continue;
      }
      if (c == '\n') {
        scan_pos_ = i;
        return base + i;
      }
      if (c == quote_ && cell_start_) {
        in_quote_ = true;
        continue;
      }
      cell_start_ = c == delimiter_;
    }
    scan_pos_ = end_;
    return nullptr;
  }

  Status ReadMore(int timeout_ms, PollBatch& batch) {
    published_ = false;
    if (eof_pending_) {
      // A stream read as a file ended after a short last chunk: as a file's,
      // its end shows on the read after that chunk's.
      eof_pending_ = false;
      eof_ = true;
      return Status::OK();
    }
    // Compact: move the unfinished record (and staged bytes) to the front.
    if (begin_ > 0) {
      size_t len = end_ + staged_ - begin_;
      std::memmove(buf_.data(), buf_.data() + begin_, len);
      scan_pos_ -= begin_;
      begin_ = 0;
      end_ = len - staged_;
    }
    if (end_ + staged_ + kReadSize + kRecordPadding > buf_.size()) {
      buf_.resize(end_ + staged_ + kReadSize + kRecordPadding);
    }
    if (stream_) {
      struct pollfd pfd = {fd_, POLLIN, 0};
      int r = ::poll(&pfd, 1, timeout_ms);
      if (r == 0) return Status::OK();  // nothing yet
      if (r < 0 && errno == EINTR) return Status::OK();
    }
    // Reads of a file end at multiples of kReadSize in the file, also after
    // a restore seeked into the middle of a chunk: the buffer then holds
    // what an uninterrupted run held at the same position, so records are
    // framed into the same poll batches and the engine interleaves sources
    // at the same points (the order labels are learned in depends on it).
    //
    // A stream read as a file stages what arrives until the chunk a file
    // read would return is complete (or the stream ends): only then are its
    // bytes framed, so batches do not depend on the sizes of the writes.
    const bool chunked = !stream_ || frame_as_file_;
    const size_t want =
        chunked ? kReadSize - static_cast<size_t>((file_pos_ + staged_) % kReadSize) : kReadSize;
    ssize_t n;
    do {
      n = ::read(fd_, buf_.data() + end_ + staged_, want);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::OK();
      return Status::IoError(StrCat("reading ", Quote(display_, 500), ": ", std::strerror(errno)));
    }
    if (stream_ && frame_as_file_) {
      if (n > 0 && static_cast<size_t>(n) < want) {
        staged_ += static_cast<size_t>(n);
        return Status::OK();  // the chunk is not complete yet
      }
      if (n == 0 && staged_ > 0) eof_pending_ = true;
      n += static_cast<ssize_t>(staged_);
      staged_ = 0;
    }
    if (n == 0) {
      // A followed log (an http source) only ends when the run stops.
      if (!follow_) eof_ = true;
      return Status::OK();
    }
    published_ = true;
    end_ += static_cast<size_t>(n);
    file_pos_ += static_cast<uint64_t>(n);
    batch.bytes_read += static_cast<uint64_t>(n);
    if (at_file_start_) SkipByteOrderMark();
    return Status::OK();
  }

  // Skips a UTF-8 byte-order mark at the start of the input. A stream may
  // deliver it in pieces: until 3 bytes have arrived, a prefix of the mark
  // leaves the decision to the next read. (No record can be framed before:
  // the mark holds no newline.)
  void SkipByteOrderMark() {
    static constexpr char kBom[] = "\xEF\xBB\xBF";
    const size_t have = std::min<size_t>(end_, 3);
    if (std::memcmp(buf_.data(), kBom, have) != 0) {
      at_file_start_ = false;
    } else if (have == 3) {
      at_file_start_ = false;
      begin_ = scan_pos_ = 3;
      ResetQuoteState();  // the scan may have looked at the mark's bytes
    }
  }

  // Frames the next record, or returns false if none is complete.
  bool NextRecord(RawRecord& rec) {
    if (discarding_) return NextDiscarding(rec);
    if (begin_ == end_) return false;
    const char* nl = FindTerminator();
    size_t rec_end;
    size_t next;
    if (nl != nullptr) {
      rec_end = static_cast<size_t>(nl - buf_.data());
      next = rec_end + 1;
    } else if (eof_) {
      rec_end = end_;  // last record without a trailing newline
      next = end_;
    } else {
      // Unterminated so far. Once it is certainly too long (one byte of
      // slack for the CR of a CRLF), stop buffering it.
      const size_t pending = end_ - begin_;
      if (pending > max_record_ + 1 || (pending == max_record_ + 1 && buf_[end_ - 1] != '\r')) {
        StartDiscarding();
        return NextDiscarding(rec);
      }
      return false;
    }
    const size_t len = rec_end - begin_;  // may include the CR of a CRLF
    size_t content = len;
    if (content > 0 && buf_[begin_ + content - 1] == '\r') --content;
    if (content > max_record_) {
      // Whole record present but too long.
      FillTruncated(rec, buf_.data() + begin_, content);
    } else {
      rec.bytes = std::string_view(buf_.data() + begin_, content);
      rec.size = content;
      rec.truncated = false;
    }
    rec.partition = partition_;
    rec.offset = Offset(next_line_);
    next_line_ += 1 + (csv_ ? CountNewlines(buf_.data() + begin_, len) : 0);
    begin_ = next;
    scan_pos_ = next;
    ResetQuoteState();
    return true;
  }

  void ResetQuoteState() {
    in_quote_ = false;
    cell_start_ = true;
  }

  void FillTruncated(RawRecord& rec, const char* data, size_t len) {
    size_t keep = std::min<size_t>(len, kTruncatedPrefix);
    if (keep < len) keep = Utf8CutPoint(data, keep);
    prefix_.assign(keep + kRecordPadding, 0);
    std::memcpy(prefix_.data(), data, keep);
    rec.bytes = std::string_view(prefix_.data(), keep);
    rec.size = len;
    rec.truncated = true;
  }

  static int64_t CountNewlines(const char* p, size_t n) {
    return static_cast<int64_t>(std::count(p, p + n, '\n'));
  }

  // An unterminated record outgrew max_record_bytes: keep its prefix and drop
  // the rest as it arrives, so it is never buffered whole.
  void StartDiscarding() {
    discard_start_pos_ = file_pos_ - (end_ - begin_);
    discarding_ = true;
    prefix_.assign(kTruncatedPrefix + kRecordPadding, 0);
    prefix_len_ = 0;
    discard_size_ = 0;
    discard_newlines_ = 0;
    discard_last_ = 0;
    Discard(end_ - begin_);
    begin_ = end_ = scan_pos_ = 0;
  }

  // Drops `n` bytes of the record being discarded from the front of the
  // buffer, topping up its prefix and counting its size and lines.
  void Discard(size_t n) {
    const char* p = buf_.data() + begin_;
    size_t keep = std::min(n, kTruncatedPrefix - prefix_len_);
    std::memcpy(prefix_.data() + prefix_len_, p, keep);
    prefix_len_ += keep;
    if (csv_) discard_newlines_ += CountNewlines(p, n);
    discard_size_ += n;
    if (n > 0) discard_last_ = p[n - 1];
    begin_ += n;
  }

  bool NextDiscarding(RawRecord& rec) {
    const char* nl = begin_ < end_ ? FindTerminator() : nullptr;
    bool done;
    if (nl != nullptr) {
      Discard(static_cast<size_t>(nl - buf_.data()) - begin_);  // up to the newline
      ++begin_;                                                 // and the newline
      done = true;
    } else {
      Discard(end_ - begin_);
      done = eof_;
    }
    scan_pos_ = begin_;
    if (begin_ == end_) begin_ = end_ = scan_pos_ = 0;
    if (!done) return false;
    if (discard_last_ == '\r') --discard_size_;  // the CR of a CRLF
    rec.partition = partition_;
    rec.offset = Offset(next_line_);
    size_t keep = std::min<uint64_t>(prefix_len_, discard_size_);
    if (keep < discard_size_) keep = Utf8CutPoint(prefix_.data(), keep);
    rec.bytes = std::string_view(prefix_.data(), keep);
    rec.size = discard_size_;
    rec.truncated = true;
    next_line_ += 1 + discard_newlines_;
    discarding_ = false;
    ResetQuoteState();
    return true;
  }

  Partition partition_;
  std::string path_;
  std::string display_;
  bool csv_;
  char delimiter_;
  char quote_;
  uint64_t max_record_;

  int fd_ = -1;
  bool stream_ = false;
  bool eof_ = false;
  bool ended_ = false;
  bool at_file_start_ = true;
  bool header_seen_ = false;

  std::vector<char> buf_;  // data in [begin_, end_), then >= kRecordPadding spare bytes
  size_t begin_ = 0, end_ = 0, scan_pos_ = 0;
  bool in_quote_ = false;   // CSV: inside a quoted cell
  bool cell_start_ = true;  // CSV: at the start of a cell (or right after a closing quote)
  int64_t next_line_ = 0;
  uint64_t file_pos_ = 0;  // bytes read from the file so far
  bool follow_ = false;
  uint64_t discard_start_pos_ = 0;  // file offset of the record being discarded

  // frame_as_file_: bytes read from the stream after end_, not yet framed
  // (the chunk they belong to is incomplete); the stream ended after a short
  // chunk; the last ReadMore made a chunk visible.
  bool frame_as_file_ = false;
  size_t staged_ = 0;
  bool eof_pending_ = false;
  bool published_ = false;

  bool discarding_ = false;
  std::vector<char> prefix_;
  size_t prefix_len_ = 0;
  uint64_t discard_size_ = 0;
  int64_t discard_newlines_ = 0;  // CSV: newlines inside the discarded record
  char discard_last_ = 0;         // its last byte so far
};

class FileSource final : public Source {
 public:
  explicit FileSource(const SourceSpec& spec) : spec_(spec) {}

  Status Open() override {
    std::vector<std::string> files;
    if (spec_.http) {
      // The event log of an http source: created empty, then followed.
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(spec_.path).parent_path(), ec);
      int fd = ::open(spec_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd < 0) {
        return Status::IoError(StrCat("source ", Quote(spec_.name),
                                      ": cannot create the event log ", Quote(spec_.path, 500),
                                      ": ", std::strerror(errno)));
      }
      ::close(fd);
      files.push_back(spec_.path);
    } else if (spec_.path == "-") {
      files.push_back("-");
    } else {
      std::error_code ec;
      auto status = std::filesystem::status(spec_.path, ec);
      if (ec || !std::filesystem::exists(status)) {
        return Status::NotFound(StrCat("source ", Quote(spec_.name), ": input ",
                                       Quote(spec_.path, 500), " does not exist"));
      }
      if (std::filesystem::is_directory(status)) {
        for (const auto& entry : std::filesystem::directory_iterator(spec_.path, ec)) {
          std::string name = entry.path().filename().string();
          if (name.empty() || name[0] == '.') continue;
          if (!entry.is_regular_file(ec)) continue;
          files.push_back(entry.path().string());
        }
        if (ec) {
          return Status::IoError(StrCat("source ", Quote(spec_.name), ": listing ",
                                        Quote(spec_.path, 500), ": ", ec.message()));
        }
        std::sort(files.begin(), files.end());
        if (files.empty()) {
          return Status::NotFound(StrCat("source ", Quote(spec_.name), ": directory ",
                                         Quote(spec_.path, 500), " has no files"));
        }
      } else {
        files.push_back(spec_.path);
      }
    }
    for (size_t i = 0; i < files.size(); ++i) {
      std::string display = files[i] == "-" ? "<stdin>" : files[i];
      auto r = std::make_unique<PartitionReader>(
          Partition(static_cast<int32_t>(i)), files[i], display, spec_.format == SourceFormat::kCsv,
          spec_.csv.delimiter, spec_.csv.quote, spec_.max_record_bytes);
      r->set_follow(spec_.http);
      r->set_frame_as_file(spec_.frame_as_file);
      Status s = r->Open();
      if (!s.ok()) return s.WithContext(StrCat("source ", Quote(spec_.name)));
      readers_.push_back(std::move(r));
    }
    return Status::OK();
  }

  int num_partitions() const override { return static_cast<int>(readers_.size()); }

  std::string Location(Partition p, Offset o) const override {
    const auto& r = readers_[static_cast<size_t>(p.value())];
    return StrCat(r->display(), ":", o.value() + 1);
  }

  Status Poll(size_t max_records, Duration timeout, PollBatch& batch) override {
    batch.Clear();
    const size_t n = readers_.size();
    int timeout_ms = static_cast<int>(std::min<int64_t>(timeout.micros() / 1000, 1000));
    // Round robin: one partition per poll, skipping ended ones; a partition
    // that produced nothing yields to the next.
    for (size_t tried = 0; tried < n; ++tried) {
      const size_t idx = next_;
      next_ = (next_ + 1) % n;
      PartitionReader& r = *readers_[idx];
      if (r.ended()) continue;
      bool just_ended = false;
      // Only wait on a stream when it is the only live partition.
      int wait = live_partitions() == 1 ? timeout_ms : 0;
      EDDY_RETURN_IF_ERROR(r.Poll(max_records, wait, batch, just_ended));
      if (just_ended) batch.ended.push_back(Partition(static_cast<int32_t>(idx)));
      if (!batch.records.empty() || !batch.ended.empty()) return Status::OK();
    }
    // A followed log has no readiness to wait on: nap briefly instead of
    // spinning (bounds the ingest-to-processing delay at ~2 ms).
    if (spec_.http && timeout > Duration::Zero()) ::usleep(2000);
    return Status::OK();
  }

  void SaveState(std::string& out) const override {
    PutVarint64(out, readers_.size());
    for (const auto& r : readers_) {
      PartitionReader::Position p = r->position();
      PutString(out, r->path());
      PutVarint64(out, p.byte);
      PutSigned(out, p.line);
      out.push_back(static_cast<char>((p.header_seen ? 1 : 0) | (p.ended ? 2 : 0)));
    }
    // The partition polled next: with several, the order in which their
    // records interleave (and so watermarks and lateness) depends on it.
    PutVarint64(out, next_);
    // Each partition's fingerprint before its position (0: none).
    PutVarint64(out, readers_.size());
    for (const auto& r : readers_) {
      std::optional<uint32_t> fp = r->Fingerprint(r->position().byte);
      PutVarint64(out, fp ? uint64_t{*fp} + 1 : 0);
    }
  }

  Status RestoreState(std::string_view bytes) override {
    // ByteReader keeps a view of its description: it must outlive the reader.
    const std::string what = StrCat("checkpoint of source ", Quote(spec_.name));
    ByteReader in(bytes, what);
    uint64_t n;
    if (!in.Varint64(n)) return in.status();
    if (n != readers_.size()) {
      return Status::FailedPrecondition(StrCat(
          "source ", Quote(spec_.name), " had ", n, " partition(s) at the checkpoint and has ",
          readers_.size(), " now: its input changed; run with --fresh to start over"));
    }
    std::vector<uint64_t> positions;
    for (auto& r : readers_) {
      std::string_view path;
      uint64_t byte;
      int64_t line;
      uint8_t flags;
      if (!in.String(path) || !in.Varint64(byte) || !in.Signed(line) || !in.Byte(flags)) {
        return in.status();
      }
      if (path != r->path()) {
        return Status::FailedPrecondition(StrCat("source ", Quote(spec_.name), ": partition ",
                                                 Quote(r->path(), 500), " was ", Quote(path, 500),
                                                 " at the checkpoint: its input changed; run with "
                                                 "--fresh to start over"));
      }
      PartitionReader::Position p{byte, line, (flags & 1) != 0, (flags & 2) != 0};
      EDDY_RETURN_IF_ERROR(r->Seek(p).WithContext(StrCat("source ", Quote(spec_.name))));
      positions.push_back(byte);
    }
    // Checkpoints written before the round-robin position was saved end
    // here; they resume at partition 0. Those written before fingerprints
    // were saved end after it.
    uint64_t next = 0;
    if (!in.at_end()) {
      if (!in.Varint64(next)) return in.status();
      if (next >= std::max<uint64_t>(n, 1)) in.Fail("the partition polled next is out of range");
      if (!in.ok()) return in.status();
    }
    if (!in.at_end()) {
      uint64_t count;
      if (!in.Varint64(count)) return in.status();
      if (count != n) in.Fail("the number of fingerprints is not the number of partitions");
      for (size_t i = 0; i < n && in.ok(); ++i) {
        uint64_t fp;
        if (!in.Varint64(fp)) return in.status();
        if (fp == 0) continue;
        std::optional<uint32_t> now = readers_[i]->Fingerprint(positions[i]);
        if (now && uint64_t{*now} + 1 != fp) {
          return Status::FailedPrecondition(StrCat(
              "source ", Quote(spec_.name), ": ", Quote(readers_[i]->display(), 500),
              " has other bytes before the checkpoint's position (", positions[i],
              ") than when the checkpoint was taken: the input was rewritten; run with --fresh "
              "to start over"));
        }
      }
    }
    if (in.ok() && !in.at_end()) in.Fail("trailing bytes");
    if (!in.ok()) return in.status();
    next_ = static_cast<size_t>(next);
    return Status::OK();
  }

  bool AtEnd() const override {
    for (const auto& r : readers_) {
      if (!r->ended()) return false;
    }
    return true;
  }

 private:
  size_t live_partitions() const {
    size_t live = 0;
    for (const auto& r : readers_) live += r->ended() ? 0 : 1;
    return live;
  }

  const SourceSpec& spec_;
  std::vector<std::unique_ptr<PartitionReader>> readers_;
  size_t next_ = 0;
};

}  // namespace

std::unique_ptr<Source> MakeFileSource(const SourceSpec& spec) {
  return std::make_unique<FileSource>(spec);
}

}  // namespace eddy
