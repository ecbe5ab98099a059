// File, directory and stdin sources. Each partition reads its file in 1 MiB
// chunks into a padded buffer and frames records in place: at newlines for
// JSON lines, at newlines outside quotes for CSV. Records are handed out as
// views into the buffer, which is compacted only at the start of the next
// poll of that partition, so the views of one batch stay valid together.

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/check.h"
#include "base/strings.h"
#include "ingest/decoder.h"
#include "ingest/source.h"

namespace eddy {
namespace {

constexpr size_t kReadSize = 1 << 20;
constexpr size_t kTruncatedPrefix = 64 * 1024;

class PartitionReader {
 public:
  PartitionReader(Partition partition, std::string path, std::string display, bool csv, char quote,
                  uint64_t max_record_bytes)
      : partition_(partition),
        path_(std::move(path)),
        display_(std::move(display)),
        csv_(csv),
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
  bool ended() const { return ended_; }
  bool stream() const { return stream_; }
  int fd() const { return fd_; }

  // Appends up to `max` records. Sets `just_ended` when the partition reached
  // its end in this call. Reads at most once, waiting up to `timeout_ms` on
  // streams.
  Status Poll(size_t max, int timeout_ms, PollBatch& batch, bool& just_ended) {
    just_ended = false;
    if (ended_) return Status::OK();
    if (!discarding_ && !HasCompleteRecord() && !eof_) {
      EDDY_RETURN_IF_ERROR(ReadMore(timeout_ms, batch));
    } else if (discarding_ && !eof_) {
      EDDY_RETURN_IF_ERROR(ReadMore(timeout_ms, batch));
    }
    size_t n = 0;
    while (n < max) {
      RawRecord rec;
      if (!NextRecord(rec)) break;
      if (rec.bytes.empty() && !rec.truncated) {
        // Blank lines are reported (the engine counts them) but never headers.
        batch.records.push_back(rec);
      } else {
        if (csv_ && !header_seen_) {
          rec.is_header = true;
          header_seen_ = true;
        }
        batch.records.push_back(rec);
      }
      ++n;
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
      char c = base[i];
      if (c == quote_) {
        in_quote_ = !in_quote_;
      } else if (c == '\n' && !in_quote_) {
        scan_pos_ = i;
        return base + i;
      }
    }
    scan_pos_ = end_;
    return nullptr;
  }

  Status ReadMore(int timeout_ms, PollBatch& batch) {
    // Compact: move the unfinished record to the front.
    if (begin_ > 0) {
      size_t len = end_ - begin_;
      std::memmove(buf_.data(), buf_.data() + begin_, len);
      scan_pos_ -= begin_;
      begin_ = 0;
      end_ = len;
    }
    if (end_ + kReadSize + kRecordPadding > buf_.size()) {
      buf_.resize(end_ + kReadSize + kRecordPadding);
    }
    if (stream_) {
      struct pollfd pfd = {fd_, POLLIN, 0};
      int r = ::poll(&pfd, 1, timeout_ms);
      if (r == 0) return Status::OK();  // nothing yet
      if (r < 0 && errno == EINTR) return Status::OK();
    }
    ssize_t n;
    do {
      n = ::read(fd_, buf_.data() + end_, kReadSize);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::OK();
      return Status::IoError(StrCat("reading ", Quote(display_, 500), ": ", std::strerror(errno)));
    }
    if (n == 0) {
      eof_ = true;
      return Status::OK();
    }
    if (at_file_start_) {
      at_file_start_ = false;
      if (n >= 3 && std::memcmp(buf_.data(), "\xEF\xBB\xBF", 3) == 0) {
        begin_ = 3;  // skip the UTF-8 byte-order mark
        scan_pos_ = 3;
      }
    }
    end_ += static_cast<size_t>(n);
    batch.bytes_read += static_cast<uint64_t>(n);
    return Status::OK();
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
      if (end_ - begin_ > max_record_) StartDiscarding();
      if (discarding_) return NextDiscarding(rec);
      return false;
    }
    size_t len = rec_end - begin_;
    if (len > max_record_) {
      // Whole record present but too long.
      FillTruncated(rec, buf_.data() + begin_, len, next - begin_);
    } else {
      std::string_view bytes(buf_.data() + begin_, len);
      rec.size = next - begin_;
      if (!bytes.empty() && bytes.back() == '\r') bytes.remove_suffix(1);
      rec.bytes = bytes;
      rec.truncated = false;
    }
    rec.partition = partition_;
    rec.offset = Offset(next_line_);
    next_line_ += 1 + (csv_ ? CountNewlines(buf_.data() + begin_, len) : 0);
    begin_ = next;
    scan_pos_ = next;
    in_quote_ = false;
    return true;
  }

  void FillTruncated(RawRecord& rec, const char* data, size_t len, uint64_t size) {
    size_t keep = std::min<size_t>(len, kTruncatedPrefix);
    prefix_.assign(keep + kRecordPadding, 0);
    std::memcpy(prefix_.data(), data, keep);
    rec.bytes = std::string_view(prefix_.data(), keep);
    rec.size = size;
    rec.truncated = true;
  }

  static int64_t CountNewlines(const char* p, size_t n) {
    return static_cast<int64_t>(std::count(p, p + n, '\n'));
  }

  // An unterminated record outgrew max_record_bytes: keep its prefix and drop
  // the rest as it arrives, so it is never buffered whole.
  void StartDiscarding() {
    discarding_ = true;
    size_t len = end_ - begin_;
    size_t keep = std::min<size_t>(len, kTruncatedPrefix);
    prefix_.assign(keep + kRecordPadding, 0);
    std::memcpy(prefix_.data(), buf_.data() + begin_, keep);
    prefix_len_ = keep;
    discard_size_ = len;
    discard_newlines_ = csv_ ? CountNewlines(buf_.data() + begin_, len) : 0;
    begin_ = end_ = scan_pos_ = 0;
  }

  bool NextDiscarding(RawRecord& rec) {
    const char* nl = begin_ < end_ ? FindTerminator() : nullptr;
    size_t consumed;
    bool done;
    if (nl != nullptr) {
      consumed = static_cast<size_t>(nl - buf_.data()) + 1 - begin_;
      done = true;
    } else {
      consumed = end_ - begin_;
      done = eof_;
    }
    if (csv_) discard_newlines_ += CountNewlines(buf_.data() + begin_, consumed);
    discard_size_ += consumed;
    begin_ += consumed;
    scan_pos_ = begin_;
    if (begin_ == end_) begin_ = end_ = scan_pos_ = 0;
    if (!done) return false;
    rec.partition = partition_;
    rec.offset = Offset(next_line_);
    rec.bytes = std::string_view(prefix_.data(), prefix_len_);
    rec.size = discard_size_;
    rec.truncated = true;
    next_line_ += 1 + discard_newlines_ - (nl != nullptr && csv_ ? 1 : 0);
    discarding_ = false;
    in_quote_ = false;
    return true;
  }

  Partition partition_;
  std::string path_;
  std::string display_;
  bool csv_;
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
  bool in_quote_ = false;
  int64_t next_line_ = 0;

  bool discarding_ = false;
  std::vector<char> prefix_;
  size_t prefix_len_ = 0;
  uint64_t discard_size_ = 0;
  int64_t discard_newlines_ = 0;
};

class FileSource final : public Source {
 public:
  explicit FileSource(const SourceSpec& spec) : spec_(spec) {}

  Status Open() override {
    std::vector<std::string> files;
    if (spec_.path == "-") {
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
      auto r = std::make_unique<PartitionReader>(Partition(static_cast<int32_t>(i)), files[i],
                                                 display, spec_.format == SourceFormat::kCsv,
                                                 spec_.csv.quote, spec_.max_record_bytes);
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
