#include "store/history.h"

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>

#include "base/coding.h"
#include "base/json_writer.h"
#include "base/logging.h"
#include "base/strings.h"
#include "base/time.h"
#include "base/utf8.h"
#include "store/text_io.h"

extern char** environ;

namespace eddy {

using store_internal::AppendCsvText;
using store_internal::AppendCsvValue;
using store_internal::FeatureValueIsUtf8;
using store_internal::JsonValue;
using store_internal::MakeDirs;
using store_internal::OutputFile;
using store_internal::WriteAll;

namespace {

// Format version 1 (docs/formats/history.md).
constexpr char kSegmentMagic[4] = {'E', 'D', 'H', 'S'};
constexpr uint32_t kFormatVersion = 1;
constexpr uint64_t kSegmentHeaderBytes = 8;
constexpr uint64_t kRecordHeaderBytes = 8;  // fixed32 length, fixed32 crc32c
constexpr char kGroupsFile[] = "groups.json";
constexpr char kLockFile[] = "LOCK";
constexpr char kSegmentPrefix[] = "history-";
constexpr char kSegmentSuffix[] = ".log";

std::string SegmentName(uint32_t n) {
  char digits[16];
  auto r = std::to_chars(digits, digits + sizeof(digits), n);
  std::string s(kSegmentPrefix);
  for (ptrdiff_t i = r.ptr - digits; i < 6; ++i) s.push_back('0');
  s.append(digits, r.ptr);
  s.append(kSegmentSuffix);
  return s;
}

std::string SegmentPath(const std::string& dir, uint32_t n) {
  return StrCat(dir, "/", SegmentName(n));
}

std::string SegmentHeader() {
  std::string h(kSegmentMagic, sizeof(kSegmentMagic));
  PutFixed32(h, kFormatVersion);
  return h;
}

void EncodeFixed32At(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint32_t DecodeFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

Status Errno(std::string_view what, const std::string& path) {
  return Status::IoError(StrCat(path, ": ", what, ": ", std::strerror(errno)));
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Result<std::string> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(StrCat(path, ": no such file"));
    return Errno("cannot open", path);
  }
  // Read straight into the string, sized from fstat (and grown if the file
  // grows meanwhile: a writer may be appending).
  std::string data;
  struct stat st;
  size_t size = 0;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) data.resize(static_cast<size_t>(st.st_size));
  while (true) {
    if (size == data.size()) data.resize(std::max<size_t>(data.size() * 2, 1 << 16));
    ssize_t n = ::read(fd, data.data() + size, data.size() - size);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Errno("read failed", path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  ::close(fd);
  data.resize(size);
  return data;
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open directory", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("fsync of directory failed", dir);
  return Status::OK();
}

// The segment numbers in `dir`, ascending. They must run from 0 without gaps:
// a missing segment would silently lose history.
Result<std::vector<uint32_t>> ListSegments(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return Status::NotFound(StrCat(dir, ": no such directory"));
    return Errno("cannot list", dir);
  }
  std::vector<uint32_t> segments;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view name(e->d_name);
    if (!StartsWith(name, kSegmentPrefix) || !EndsWith(name, kSegmentSuffix)) continue;
    std::string_view digits = name.substr(sizeof(kSegmentPrefix) - 1);
    digits.remove_suffix(sizeof(kSegmentSuffix) - 1);
    uint32_t n;
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (r.ec != std::errc() || SegmentName(n) != name) continue;  // not a segment name
    segments.push_back(n);
  }
  ::closedir(d);
  std::sort(segments.begin(), segments.end());
  for (size_t i = 0; i < segments.size(); ++i) {
    if (segments[i] != i) {
      return Status::Corruption(
          StrCat(dir, ": history segment ", SegmentName(static_cast<uint32_t>(i)),
                 " is missing (segments must be numbered from 0 without gaps)"));
    }
  }
  return segments;
}

bool AllZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == 0; });
}

using RecordFn = std::function<Status(const HistoryRecord&)>;

// Parses one segment file's bytes. `last`: it is the last segment, where a
// torn record at the end (a crash mid-write) ends the log instead of being
// corruption. `valid_end` is set to the end of the last good record (0 when
// even the header is torn). `fn` may be empty.
Status ParseSegment(std::string_view data, uint32_t segment, bool last, const std::string& path,
                    const std::vector<HistoryGroup>& groups, const RecordFn& fn,
                    uint64_t& valid_end) {
  valid_end = 0;
  auto corrupt = [&](uint64_t offset, std::string_view why) {
    return Status::Corruption(StrCat(path, ": offset ", offset, ": ", why));
  };
  if (data.size() < kSegmentHeaderBytes) {
    if (last) return Status::OK();  // the crash came before the header was complete
    return corrupt(0, StrCat("segment of ", data.size(), " bytes has no complete header"));
  }
  if (std::memcmp(data.data(), kSegmentMagic, sizeof(kSegmentMagic)) != 0) {
    return corrupt(0, "not an Eddy history segment (bad magic)");
  }
  uint32_t version = DecodeFixed32(data.data() + 4);
  if (version != kFormatVersion) {
    return corrupt(4, StrCat("history format version ", version, "; this Eddy reads version ",
                             kFormatVersion));
  }
  uint64_t pos = kSegmentHeaderBytes;
  valid_end = pos;
  StoredVector vector;
  while (pos < data.size()) {
    const uint64_t remaining = data.size() - pos;
    // A torn tail: only in the last segment, and only as a prefix of a record
    // (or the zeros some file systems leave after a crash).
    const bool torn_ok = last;
    if (remaining < kRecordHeaderBytes) {
      if (torn_ok) return Status::OK();
      return corrupt(pos, StrCat("truncated record header (", remaining, " bytes)"));
    }
    const uint32_t length = DecodeFixed32(data.data() + pos);
    const uint32_t crc = DecodeFixed32(data.data() + pos + 4);
    if (length == 0 || length > kMaxHistoryRecordBytes) {
      if (torn_ok && AllZero(data.substr(pos))) return Status::OK();
      return corrupt(pos, StrCat("invalid record length ", length));
    }
    if (length > remaining - kRecordHeaderBytes) {
      if (torn_ok) return Status::OK();
      return corrupt(pos, StrCat("record of ", length, " bytes runs past the end of the segment (",
                                 remaining - kRecordHeaderBytes, " bytes left)"));
    }
    std::string_view payload = data.substr(pos + kRecordHeaderBytes, length);
    if (Crc32c(payload) != crc) return corrupt(pos, "checksum mismatch");
    ByteReader r(payload, "history record");
    uint32_t group;
    std::string_view key;
    if (!r.Varint32(group) || !r.String(key)) return corrupt(pos, r.status().message());
    if (group >= groups.size()) {
      return corrupt(pos, StrCat("record of group id ", group, ", but groups.json has ",
                                 groups.size(), " groups"));
    }
    std::string_view encoded = payload.substr(r.position());
    auto v = DecodeStoredVector(encoded);
    if (!v.ok()) return corrupt(pos, v.status().message());
    vector = std::move(v).value();
    if (vector.values.size() != groups[group].feature_names.size()) {
      return corrupt(
          pos, StrCat("record of group ", Quote(groups[group].name), " has ", vector.values.size(),
                      " values; the group has ", groups[group].feature_names.size(), " features"));
    }
    if (fn) {
      HistoryRecord rec{HistoryPosition{segment, pos}, group, key, vector, encoded};
      EDDY_RETURN_IF_ERROR(fn(rec));
    }
    pos += kRecordHeaderBytes + length;
    valid_end = pos;
  }
  return Status::OK();
}

// ------------------------------------------------------------ groups.json

std::string GroupsJson(const std::vector<HistoryGroup>& groups) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Key("format").String("eddy-history").Key("version").Uint(kFormatVersion);
  w.Key("groups").BeginArray();
  for (size_t i = 0; i < groups.size(); ++i) {
    w.BeginObject().Key("id").Uint(i).Key("name").String(groups[i].name);
    w.Key("features").BeginArray();
    for (const std::string& f : groups[i].feature_names) w.String(f);
    w.EndArray().EndObject();
  }
  w.EndArray().EndObject();
  out.push_back('\n');
  return out;
}

Result<std::vector<HistoryGroup>> ParseGroupsJson(std::string_view text, const std::string& path) {
  JsonValue doc;
  Status s = store_internal::ParseJson(text, doc);
  if (!s.ok()) return Status::Corruption(StrCat(path, ": ", s.message()));
  auto bad = [&](std::string_view why) { return Status::Corruption(StrCat(path, ": ", why)); };
  if (doc.type() != JsonValue::Type::kObject) return bad("expected a JSON object");
  const JsonValue* format = doc.Find("format");
  if (format == nullptr || format->str() != "eddy-history") {
    return bad("not an Eddy history (\"format\" is not \"eddy-history\")");
  }
  const JsonValue* version = doc.Find("version");
  if (version == nullptr || version->type() != JsonValue::Type::kNumber) {
    return bad("\"version\" is missing");
  }
  if (version->raw() != "1") {
    return bad(StrCat("history format version ", version->raw(), "; this Eddy reads version ",
                      kFormatVersion));
  }
  const JsonValue* list = doc.Find("groups");
  if (list == nullptr || list->type() != JsonValue::Type::kArray) {
    return bad("\"groups\" must be an array");
  }
  std::vector<HistoryGroup> groups;
  for (const JsonValue& g : list->items()) {
    const JsonValue* name = g.Find("name");
    const JsonValue* features = g.Find("features");
    if (name == nullptr || name->type() != JsonValue::Type::kString || features == nullptr ||
        features->type() != JsonValue::Type::kArray) {
      return bad(StrCat("group ", groups.size(), " needs a \"name\" and a \"features\" array"));
    }
    HistoryGroup group;
    group.name = name->str();
    for (const JsonValue& f : features->items()) {
      if (f.type() != JsonValue::Type::kString) {
        return bad(StrCat("group ", Quote(group.name), ": feature names must be strings"));
      }
      group.feature_names.push_back(f.str());
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

Status ValidateGroups(const std::vector<HistoryGroup>& groups) {
  if (groups.empty()) return Status::InvalidArgument("a history needs at least one feature group");
  for (size_t i = 0; i < groups.size(); ++i) {
    const HistoryGroup& g = groups[i];
    if (g.name.empty()) return Status::InvalidArgument(StrCat("feature group ", i, " has no name"));
    if (!IsValidUtf8(g.name)) {
      return Status::InvalidArgument(StrCat("feature group name ", Quote(g.name), " is not UTF-8"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (groups[j].name == g.name) {
        return Status::InvalidArgument(StrCat("feature group ", Quote(g.name), " is listed twice"));
      }
    }
    for (size_t a = 0; a < g.feature_names.size(); ++a) {
      if (!IsValidUtf8(g.feature_names[a])) {
        return Status::InvalidArgument(
            StrCat("feature name ", Quote(g.feature_names[a]), " is not UTF-8"));
      }
      for (size_t b = 0; b < a; ++b) {
        if (g.feature_names[a] == g.feature_names[b]) {
          return Status::InvalidArgument(StrCat("feature group ", Quote(g.name), " names feature ",
                                                Quote(g.feature_names[a]), " twice"));
        }
      }
    }
  }
  return Status::OK();
}

std::string DescribeGroups(const std::vector<HistoryGroup>& groups) {
  std::string out;
  for (size_t i = 0; i < groups.size(); ++i) {
    if (i > 0) out.append("; ");
    StrAppend(out, groups[i].name, "(", StrJoin(groups[i].feature_names, ","), ")");
  }
  return out;
}

// Writes groups.json atomically (temporary file, fsync, rename, fsync dir).
Status WriteGroupsFile(const std::string& dir, const std::vector<HistoryGroup>& groups) {
  const std::string path = StrCat(dir, "/", kGroupsFile);
  const std::string tmp = StrCat(path, ".tmp");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create", tmp);
  Status s = WriteAll(fd, GroupsJson(groups), tmp);
  if (s.ok() && ::fsync(fd) != 0) s = Errno("fsync failed", tmp);
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = Errno("cannot rename", tmp);
  if (s.ok()) s = SyncDir(dir);
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

// Takes the directory's writer lock. Returns the lock file's descriptor.
Result<int> LockDir(const std::string& dir) {
  const std::string path = StrCat(dir, "/", kLockFile);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot open", path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Status::FailedPrecondition(
          StrCat("history ", dir, " is open for writing by another writer (", path, " is locked)"));
    }
    errno = err;
    return Errno("cannot lock", path);
  }
  return fd;
}

// Creates segment `n` holding only its header, durably.
Result<int> CreateSegment(const std::string& dir, uint32_t n) {
  const std::string path = SegmentPath(dir, n);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create", path);
  Status s = WriteAll(fd, SegmentHeader(), path);
  if (s.ok() && ::fdatasync(fd) != 0) s = Errno("fdatasync failed", path);
  if (s.ok()) s = SyncDir(dir);
  if (!s.ok()) {
    ::close(fd);
    return s;
  }
  return fd;
}

}  // namespace

// ---------------------------------------------------------------- writer

Result<std::unique_ptr<HistoryWriter>> HistoryWriter::Open(const std::string& dir,
                                                           const std::vector<HistoryGroup>& groups,
                                                           const HistoryWriterOptions& options) {
  EDDY_RETURN_IF_ERROR(ValidateGroups(groups));
  if (options.segment_bytes <= kSegmentHeaderBytes) {
    return Status::InvalidArgument("history segment_bytes must be larger than the segment header");
  }
  EDDY_RETURN_IF_ERROR(MakeDirs(dir));
  std::unique_ptr<HistoryWriter> w(new HistoryWriter());
  w->dir_ = dir;
  w->options_ = options;
  EDDY_ASSIGN_OR_RETURN(w->lock_fd_, LockDir(dir));

  const std::string groups_path = StrCat(dir, "/", kGroupsFile);
  if (Exists(groups_path)) {
    EDDY_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(groups_path));
    EDDY_ASSIGN_OR_RETURN(std::vector<HistoryGroup> recorded, ParseGroupsJson(text, groups_path));
    if (recorded != groups) {
      return Status::FailedPrecondition(StrCat(
          "history ", dir, " was written with other feature groups: recorded ",
          DescribeGroups(recorded), "; this pipeline has ", DescribeGroups(groups),
          ". A pipeline whose groups changed needs a new history directory (or move this one "
          "away)"));
    }
  } else {
    EDDY_RETURN_IF_ERROR(WriteGroupsFile(dir, groups));
  }
  for (const HistoryGroup& g : groups) w->group_sizes_.push_back(g.feature_names.size());

  EDDY_ASSIGN_OR_RETURN(std::vector<uint32_t> segments, ListSegments(dir));
  if (segments.empty()) {
    EDDY_ASSIGN_OR_RETURN(w->fd_, CreateSegment(dir, 0));
    w->segment_ = 0;
    w->offset_ = kSegmentHeaderBytes;
  } else {
    // Find the end of the good records of the last segment; cut a torn tail.
    const uint32_t last = segments.back();
    const std::string path = SegmentPath(dir, last);
    EDDY_ASSIGN_OR_RETURN(std::string data, ReadWholeFile(path));
    uint64_t valid_end;
    Status s = ParseSegment(data, last, /*last=*/true, path, groups, nullptr, valid_end);
    if (!s.ok()) {
      return s.WithContext(
          "cannot append to a damaged history (move the directory away or "
          "restore it from a checkpoint)");
    }
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return Errno("cannot open", path);
    w->fd_ = fd;
    if (valid_end < kSegmentHeaderBytes) {
      // Not even the header made it to disk: write it again.
      if (::ftruncate(fd, 0) != 0) return Errno("cannot truncate", path);
      EDDY_RETURN_IF_ERROR(WriteAll(fd, SegmentHeader(), path));
      if (::fdatasync(fd) != 0) return Errno("fdatasync failed", path);
      valid_end = kSegmentHeaderBytes;
    } else if (valid_end < data.size()) {
      EDDY_LOG(Warn) << "history: cutting a torn record (" << data.size() - valid_end
                     << " bytes) at the end of " << path << " offset " << valid_end;
      if (::ftruncate(fd, static_cast<off_t>(valid_end)) != 0)
        return Errno("cannot truncate", path);
      if (::fdatasync(fd) != 0) return Errno("fdatasync failed", path);
    }
    if (::lseek(fd, static_cast<off_t>(valid_end), SEEK_SET) < 0) return Errno("cannot seek", path);
    w->segment_ = last;
    w->offset_ = valid_end;
  }
  w->buffer_.reserve(options.buffer_bytes + 4096);
  return w;
}

HistoryWriter::~HistoryWriter() {
  if (fd_ >= 0) {
    if (status_.ok()) (void)WriteBuffer(buffer_.size());
    ::close(fd_);
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
}

Status HistoryWriter::Fail(Status s) {
  if (status_.ok()) status_ = s;
  return s;
}

Status HistoryWriter::WriteBuffer(size_t n) {
  if (n == 0) return Status::OK();
  Status s = WriteAll(fd_, std::string_view(buffer_).substr(0, n), SegmentPath(dir_, segment_));
  buffer_.erase(0, n);
  return s;
}

Status HistoryWriter::Append(uint32_t group, std::string_view key, const StoredVector& v) {
  if (!status_.ok()) return status_;
  if (group >= group_sizes_.size()) {
    return Status::InvalidArgument(
        StrCat("history append: group id ", group, " of ", group_sizes_.size(), " groups"));
  }
  if (v.values.size() != group_sizes_[group]) {
    return Status::InvalidArgument(StrCat("history append: ", v.values.size(),
                                          " values for a group of ", group_sizes_[group],
                                          " features"));
  }
  const size_t start = buffer_.size();
  buffer_.append(kRecordHeaderBytes, '\0');
  PutVarint32(buffer_, group);
  PutString(buffer_, key);
  EncodeStoredVector(v, buffer_);
  const size_t length = buffer_.size() - start - kRecordHeaderBytes;
  if (length > kMaxHistoryRecordBytes) {
    buffer_.resize(start);
    return Status::InvalidArgument(StrCat("history append: a record of ", length,
                                          " bytes is larger than the limit of ",
                                          kMaxHistoryRecordBytes));
  }
  const uint32_t crc = Crc32c(std::string_view(buffer_).substr(start + kRecordHeaderBytes));
  EncodeFixed32At(buffer_.data() + start, static_cast<uint32_t>(length));
  EncodeFixed32At(buffer_.data() + start + 4, crc);

  const uint64_t record_bytes = kRecordHeaderBytes + length;
  if (offset_ > kSegmentHeaderBytes && offset_ + record_bytes > options_.segment_bytes) {
    // The record starts the next segment: write what precedes it, then roll.
    Status s = WriteBuffer(start);
    if (s.ok()) s = Roll();
    if (!s.ok()) return Fail(s);
  }
  offset_ += record_bytes;
  ++records_;
  if (buffer_.size() >= options_.buffer_bytes) {
    Status s = WriteBuffer(buffer_.size());
    if (!s.ok()) return Fail(s);
    // Start writeback of what is written so far without waiting for it, so
    // that the fdatasync when the segment rolls has little left to do (and
    // does not stall the engine's thread for a whole segment's worth). Best
    // effort: a failure shows up at that fdatasync.
    (void)::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
  }
  return Status::OK();
}

Status HistoryWriter::Roll() {
  // The finished segment is made durable before the next one exists, so that
  // only the last segment can ever have a torn tail.
  const std::string path = SegmentPath(dir_, segment_);
  if (::fdatasync(fd_) != 0) return Errno("fdatasync failed", path);
  ::close(fd_);
  fd_ = -1;
  EDDY_ASSIGN_OR_RETURN(fd_, CreateSegment(dir_, segment_ + 1));
  ++segment_;
  offset_ = kSegmentHeaderBytes;
  return Status::OK();
}

Status HistoryWriter::Flush(bool sync) {
  if (!status_.ok()) return status_;
  Status s = WriteBuffer(buffer_.size());
  if (s.ok() && sync && ::fdatasync(fd_) != 0) {
    s = Errno("fdatasync failed", SegmentPath(dir_, segment_));
  }
  if (!s.ok()) return Fail(s);
  return Status::OK();
}

Status HistoryWriter::TruncateTo(const std::string& dir, const HistoryPosition& pos) {
  const std::string groups_path = StrCat(dir, "/", kGroupsFile);
  if (!Exists(groups_path)) {
    // Nothing was ever written: only the empty position is reachable.
    if (pos.segment == 0 && pos.offset <= kSegmentHeaderBytes) return Status::OK();
    return Status::NotFound(StrCat("no history in ", dir, " to truncate to segment ", pos.segment,
                                   " offset ", pos.offset));
  }
  EDDY_ASSIGN_OR_RETURN(int lock_fd, LockDir(dir));
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }
  } unlock{lock_fd};

  EDDY_ASSIGN_OR_RETURN(std::string groups_text, ReadWholeFile(groups_path));
  EDDY_ASSIGN_OR_RETURN(std::vector<HistoryGroup> groups,
                        ParseGroupsJson(groups_text, groups_path));
  EDDY_ASSIGN_OR_RETURN(std::vector<uint32_t> segments, ListSegments(dir));
  const uint32_t count = static_cast<uint32_t>(segments.size());
  auto short_log = [&](std::string_view detail) {
    return Status::Corruption(StrCat("history ", dir, " does not reach the checkpoint position (",
                                     SegmentName(pos.segment), " offset ", pos.offset,
                                     "): ", detail));
  };
  if (pos.segment >= count) {
    // A checkpoint taken just as a segment was started, whose file is gone.
    if (pos.segment != count || pos.offset > kSegmentHeaderBytes) {
      return short_log(StrCat("it has ", count, " segments"));
    }
  } else {
    const std::string path = SegmentPath(dir, pos.segment);
    EDDY_ASSIGN_OR_RETURN(std::string data, ReadWholeFile(path));
    if (pos.offset > data.size()) {
      return short_log(StrCat(SegmentName(pos.segment), " has ", data.size(), " bytes"));
    }
    uint64_t new_size = pos.offset;
    if (pos.offset < kSegmentHeaderBytes) {
      if (pos.offset != 0) {
        return Status::InvalidArgument(
            StrCat("history position offset ", pos.offset, " is inside the segment header"));
      }
      new_size = 0;  // the next writer writes the header again
    } else {
      // The prefix up to pos.offset must be whole, valid records.
      uint64_t valid_end;
      Status s = ParseSegment(std::string_view(data).substr(0, pos.offset), pos.segment,
                              /*last=*/false, path, groups, nullptr, valid_end);
      if (!s.ok()) {
        return s.WithContext(StrCat("cannot truncate history to ", SegmentName(pos.segment),
                                    " offset ", pos.offset,
                                    " (not the end of a record, or damaged before it)"));
      }
    }
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return Errno("cannot open", path);
    Status s;
    if (::ftruncate(fd, static_cast<off_t>(new_size)) != 0) s = Errno("cannot truncate", path);
    if (s.ok() && ::fdatasync(fd) != 0) s = Errno("fdatasync failed", path);
    ::close(fd);
    EDDY_RETURN_IF_ERROR(s);
  }
  // Later segments go last first, so that a crash here leaves a gap-free log.
  for (uint32_t n = count; n > pos.segment + 1; --n) {
    const std::string path = SegmentPath(dir, n - 1);
    if (::unlink(path.c_str()) != 0) return Errno("cannot delete", path);
  }
  return SyncDir(dir);
}

// ---------------------------------------------------------------- reader

Result<std::unique_ptr<HistoryReader>> HistoryReader::Open(const std::string& dir) {
  const std::string groups_path = StrCat(dir, "/", kGroupsFile);
  auto text = ReadWholeFile(groups_path);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return Status::NotFound(StrCat("no history in ", dir, " (", kGroupsFile, " is missing)"));
    }
    return text.status();
  }
  EDDY_ASSIGN_OR_RETURN(std::vector<HistoryGroup> groups, ParseGroupsJson(*text, groups_path));
  Status s = ValidateGroups(groups);
  if (!s.ok()) return Status::Corruption(StrCat(groups_path, ": ", s.message()));
  std::unique_ptr<HistoryReader> r(new HistoryReader());
  r->dir_ = dir;
  r->groups_ = std::move(groups);
  return r;
}

int HistoryReader::FindGroup(std::string_view name) const {
  for (size_t i = 0; i < groups_.size(); ++i) {
    if (groups_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

Status HistoryReader::ScanRecords(const std::function<Status(const HistoryRecord&)>& fn) const {
  EDDY_ASSIGN_OR_RETURN(std::vector<uint32_t> segments, ListSegments(dir_));
  for (uint32_t n : segments) {
    const std::string path = SegmentPath(dir_, n);
    EDDY_ASSIGN_OR_RETURN(std::string data, ReadWholeFile(path));
    uint64_t valid_end;
    EDDY_RETURN_IF_ERROR(
        ParseSegment(data, n, /*last=*/n == segments.back(), path, groups_, fn, valid_end));
  }
  return Status::OK();
}

Status HistoryReader::Scan(const std::function<Status(uint32_t group, std::string_view key,
                                                      const StoredVector& v)>& fn) const {
  return ScanRecords([&](const HistoryRecord& r) { return fn(r.group, r.key, r.vector); });
}

// ---------------------------------------------------------------- export

namespace {

// Column names of a group's rows: the fixed columns, then the features (a
// feature named like a fixed column is prefixed with the group's name).
std::vector<std::string> ExportColumns(const HistoryGroup& g) {
  static const char* const kFixed[] = {"group", "key", "event_time", "available_at"};
  std::vector<std::string> cols(std::begin(kFixed), std::end(kFixed));
  for (const std::string& f : g.feature_names) {
    bool clash = std::find(std::begin(kFixed), std::end(kFixed), f) != std::end(kFixed);
    cols.push_back(clash ? StrCat(g.name, ".", f) : f);
  }
  return cols;
}

bool IsFileNameSafe(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

Status CheckUtf8(const HistoryRecord& r) {
  bool ok = IsValidUtf8(r.key);
  for (const FeatureValue& v : r.vector.values) ok = ok && FeatureValueIsUtf8(v);
  if (ok) return Status::OK();
  return Status::InvalidArgument(StrCat("history record at ", SegmentName(r.position.segment),
                                        " offset ", r.position.offset,
                                        " holds text that is not UTF-8; it cannot be exported"));
}

// The Parquet writer: reads the temporary JSON lines file (one array per
// row: key, event_time_us, available_at_us, features...) and writes the
// table in batches.
constexpr char kParquetScript[] = R"PY(
import json, sys
try:
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError as e:
    sys.stderr.write("pyarrow is not installed: %s\n" % e)
    sys.exit(3)
src, dst, spec_path = sys.argv[1:4]
with open(spec_path, encoding="utf-8") as f:
    spec = json.load(f)
arrow = {"null": pa.null(), "bool": pa.bool_(), "int64": pa.int64(), "float64": pa.float64(),
         "string": pa.string(), "list": pa.list_(pa.string()), "json": pa.string()}
ts = pa.timestamp("us", tz="UTC")
types = spec["types"]
fields = [pa.field(spec["columns"][0], pa.string()), pa.field(spec["columns"][1], pa.string()),
          pa.field(spec["columns"][2], ts), pa.field(spec["columns"][3], ts)]
fields += [pa.field(n, arrow[t]) for n, t in zip(spec["columns"][4:], types)]
schema = pa.schema(fields)
def convert(t, v):
    if v is None:
        return None
    if t == "float64":
        return float(v)
    if t == "json":
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    return v
writer = pq.ParquetWriter(dst, schema)
def flush(rows):
    cols = [[spec["group"]] * len(rows), [r[0] for r in rows], [r[1] for r in rows],
            [r[2] for r in rows]]
    for i, t in enumerate(types):
        cols.append([convert(t, r[3 + i]) for r in rows])
    arrays = [pa.array(c, type=f.type) for c, f in zip(cols, fields)]
    writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
rows = []
with open(src, encoding="utf-8") as f:
    for line in f:
        rows.append(json.loads(line))
        if len(rows) >= 65536:
            flush(rows)
            rows = []
if rows:
    flush(rows)
writer.close()
)PY";

constexpr int kNoPyarrowExit = 3;

std::string PythonFor(const std::string& python) {
  if (!python.empty()) return python;
  if (const char* p = std::getenv("EDDY_PYTHON"); p != nullptr && *p != '\0') return p;
  if (const char* v = std::getenv("EDDY_VENV"); v != nullptr && *v != '\0') {
    return StrCat(v, "/bin/python");
  }
  // The repository's environment: the binary is build/<type>/bin/eddy.
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const std::filesystem::path venv = exe.parent_path() / "../../../.venv/bin/python";
    if (std::filesystem::exists(venv, ec)) return venv.lexically_normal().string();
  }
  if (std::filesystem::exists(".venv/bin/python", ec)) return ".venv/bin/python";
  return "python3";
}

// Runs argv[0] (searched in PATH when it has no '/') with stdout and stderr
// going to `log_path`; returns its exit code (a signal is an error).
Result<int> RunProcess(const std::vector<std::string>& argv, const std::string& log_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 2, 1);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = ::posix_spawnp(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return Status::NotFound(StrCat("cannot run ", argv[0], ": ", std::strerror(rc)));
  }
  int wstatus;
  while (::waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) return Errno("waitpid failed", argv[0]);
  }
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  return Status::Internal(
      StrCat(argv[0], " was killed by signal ", WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0));
}

std::string TailOf(const std::string& path) {
  auto text = ReadWholeFile(path);
  if (!text.ok()) return "";
  std::string_view t = Trim(*text);
  if (t.size() > 2000) t = t.substr(t.size() - 2000);
  return std::string(t);
}

// A temporary directory removed with its files on destruction.
class ScratchDir {
 public:
  static Result<ScratchDir> Create(const std::string& near) {
    std::string parent = near;
    size_t slash = parent.find_last_of('/');
    parent = slash == std::string::npos ? "." : (slash == 0 ? "/" : parent.substr(0, slash));
    EDDY_RETURN_IF_ERROR(MakeDirs(parent));
    std::string templ = StrCat(parent, "/.eddy-export-XXXXXX");
    if (::mkdtemp(templ.data()) == nullptr) return Errno("cannot create a directory", templ);
    return ScratchDir(templ);
  }
  ScratchDir(ScratchDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  ~ScratchDir() {
    if (path_.empty()) return;
    if (DIR* d = ::opendir(path_.c_str())) {
      while (struct dirent* e = ::readdir(d)) {
        std::string_view n(e->d_name);
        if (n != "." && n != "..") ::unlink(StrCat(path_, "/", n).c_str());
      }
      ::closedir(d);
    }
    ::rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  explicit ScratchDir(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

Status NoPyarrow(const std::string& python, std::string_view detail) {
  return Status::Unimplemented(StrCat(
      "Parquet export needs pyarrow, which the Python at ", python, " does not have (", detail,
      "). Install it into the environment of scripts/python-env.sh: `", python,
      " -m pip install pyarrow` (or point EDDY_PYTHON at an interpreter that has it); CSV and "
      "JSON lines exports need nothing"));
}

Status CheckPyarrow(const std::string& python, const std::string& scratch) {
  const std::string log = StrCat(scratch, "/check.log");
  auto rc = RunProcess({python, "-c", "import pyarrow, pyarrow.parquet"}, log);
  if (!rc.ok()) return NoPyarrow(python, rc.status().message());
  if (*rc != 0) return NoPyarrow(python, StrCat("import failed: ", Quote(TailOf(log), 300)));
  return Status::OK();
}

// Per feature, the JSON types seen, to choose the Parquet column type.
enum TypeBit : uint8_t {
  kSawBool = 1,
  kSawInt = 2,
  kSawDouble = 4,
  kSawString = 8,
  kSawList = 16,
};

std::string_view ParquetType(uint8_t seen) {
  switch (seen) {
    case 0:
      return "null";
    case kSawBool:
      return "bool";
    case kSawInt:
      return "int64";
    case kSawDouble:
    case kSawInt | kSawDouble:
      return "float64";
    case kSawString:
      return "string";
    case kSawList:
      return "list";
    default:
      return "json";  // mixed types: each value as its JSON text
  }
}

// One output table (a file) of an export.
struct GroupOutput {
  std::vector<std::string> columns;
  std::unique_ptr<OutputFile> file;  // csv, or the temporary jsonl for parquet
  std::vector<uint8_t> seen;         // parquet: per feature
  std::string final_path;            // parquet: where the table goes
};

}  // namespace

Status ExportHistory(const HistoryReader& reader, std::string_view group, std::string_view format,
                     const std::string& out_path, const std::string& python) {
  if (format != "csv" && format != "jsonl" && format != "parquet") {
    return Status::InvalidArgument(
        StrCat("unknown export format ", Quote(format), " (expected csv, jsonl or parquet)"));
  }
  if (out_path.empty()) return Status::InvalidArgument("export needs an output path");
  const std::vector<HistoryGroup>& groups = reader.groups();
  std::vector<bool> selected(groups.size(), group.empty());
  if (!group.empty()) {
    int g = reader.FindGroup(group);
    if (g < 0) {
      std::vector<std::string> names;
      for (const HistoryGroup& h : groups) names.push_back(h.name);
      std::string hint = SuggestName(group, names);
      return Status::NotFound(
          StrCat("history ", reader.dir(), " has no feature group ", Quote(group),
                 hint.empty() ? "" : StrCat(" (did you mean ", Quote(hint), "?)"), "; it has ",
                 StrJoin(names, ", ", true)));
    }
    selected[static_cast<size_t>(g)] = true;
  }
  const size_t num_selected =
      static_cast<size_t>(std::count(selected.begin(), selected.end(), true));
  const bool tables = format != "jsonl";
  const bool one_file = !tables || num_selected == 1;
  if (!one_file) {
    for (size_t i = 0; i < groups.size(); ++i) {
      if (selected[i] && !IsFileNameSafe(groups[i].name)) {
        return Status::InvalidArgument(StrCat("feature group ", Quote(groups[i].name),
                                              " cannot name a file; export it alone "
                                              "(with its group given)"));
      }
    }
    EDDY_RETURN_IF_ERROR(MakeDirs(out_path));
  }
  auto table_path = [&](size_t g) {
    return one_file ? out_path : StrCat(out_path, "/", groups[g].name, ".", format);
  };

  std::optional<ScratchDir> scratch;
  std::string py;
  if (format == "parquet") {
    EDDY_ASSIGN_OR_RETURN(ScratchDir d, ScratchDir::Create(out_path));
    scratch.emplace(std::move(d));
    py = PythonFor(python);
    EDDY_RETURN_IF_ERROR(CheckPyarrow(py, scratch->path()));
  }

  // Open the outputs.
  std::vector<GroupOutput> outs(groups.size());
  std::unique_ptr<OutputFile> jsonl;
  if (format == "jsonl") {
    EDDY_ASSIGN_OR_RETURN(jsonl, OutputFile::Create(out_path));
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    if (!selected[g]) continue;
    GroupOutput& o = outs[g];
    o.columns = ExportColumns(groups[g]);
    if (format == "csv") {
      EDDY_ASSIGN_OR_RETURN(o.file, OutputFile::Create(table_path(g)));
      std::string& b = o.file->buffer();
      for (size_t c = 0; c < o.columns.size(); ++c) {
        if (c > 0) b.push_back(',');
        AppendCsvText(b, o.columns[c]);
      }
      b.push_back('\n');
    } else if (format == "parquet") {
      EDDY_ASSIGN_OR_RETURN(o.file, OutputFile::Create(StrCat(scratch->path(), "/", g, ".jsonl")));
      o.seen.assign(groups[g].feature_names.size(), 0);
      o.final_path = table_path(g);
    }
  }

  // One pass over the log, rows in append order.
  Status s = reader.ScanRecords([&](const HistoryRecord& r) -> Status {
    if (!selected[r.group]) return Status::OK();
    EDDY_RETURN_IF_ERROR(CheckUtf8(r));
    GroupOutput& o = outs[r.group];
    const EventTime available = EventTime::FromMicros(r.vector.computed_at.micros());
    if (format == "jsonl") {
      std::string& b = jsonl->buffer();
      JsonWriter w(b);
      w.BeginObject().Key("group").String(groups[r.group].name).Key("key").String(r.key);
      w.Key("event_time").String(FormatIso8601(r.vector.event_time));
      w.Key("available_at").String(FormatIso8601(available));
      for (size_t i = 0; i < r.vector.values.size(); ++i) {
        std::string v;
        r.vector.values[i].AppendJson(v);
        w.Key(o.columns[4 + i]).Raw(v);
      }
      w.EndObject();
      b.push_back('\n');
      return jsonl->MaybeWrite();
    }
    std::string& b = o.file->buffer();
    if (format == "csv") {
      AppendCsvText(b, groups[r.group].name);
      b.push_back(',');
      AppendCsvText(b, r.key);
      b.push_back(',');
      AppendIso8601(b, r.vector.event_time);
      b.push_back(',');
      AppendIso8601(b, available);
      for (const FeatureValue& v : r.vector.values) {
        b.push_back(',');
        AppendCsvValue(b, v);
      }
    } else {  // parquet: [key, event_time_us, available_at_us, values...]
      b.push_back('[');
      AppendJsonString(b, r.key);
      StrAppend(b, ",", r.vector.event_time.micros(), ",", r.vector.computed_at.micros());
      for (size_t i = 0; i < r.vector.values.size(); ++i) {
        const FeatureValue& v = r.vector.values[i];
        b.push_back(',');
        v.AppendJson(b);
        switch (v.type()) {
          case FeatureValue::Type::kNull:
            break;
          case FeatureValue::Type::kBool:
            o.seen[i] |= kSawBool;
            break;
          case FeatureValue::Type::kInt:
            o.seen[i] |= kSawInt;
            break;
          case FeatureValue::Type::kDouble:
            o.seen[i] |= kSawDouble;
            break;
          case FeatureValue::Type::kString:
            o.seen[i] |= kSawString;
            break;
          case FeatureValue::Type::kList:
            o.seen[i] |= kSawList;
            break;
        }
      }
      b.push_back(']');
    }
    b.push_back('\n');
    return o.file->MaybeWrite();
  });
  EDDY_RETURN_IF_ERROR(s.WithContext(StrCat("export of history ", reader.dir())));

  if (jsonl) return jsonl->Commit();
  for (size_t g = 0; g < groups.size(); ++g) {
    if (!selected[g]) continue;
    GroupOutput& o = outs[g];
    EDDY_RETURN_IF_ERROR(o.file->Commit());
    if (format != "parquet") continue;
    // The table's schema, then the Python writer.
    std::string spec;
    JsonWriter w(spec);
    w.BeginObject().Key("group").String(groups[g].name).Key("columns").BeginArray();
    for (const std::string& c : o.columns) w.String(c);
    w.EndArray().Key("types").BeginArray();
    for (uint8_t seen : o.seen) w.String(ParquetType(seen));
    w.EndArray().EndObject();
    const std::string spec_path = StrCat(scratch->path(), "/", g, ".spec.json");
    EDDY_ASSIGN_OR_RETURN(auto spec_file, OutputFile::Create(spec_path));
    spec_file->buffer() = spec;
    EDDY_RETURN_IF_ERROR(spec_file->Commit());
    const std::string tmp_out = StrCat(o.final_path, ".tmp-", static_cast<int64_t>(::getpid()));
    const std::string log = StrCat(scratch->path(), "/", g, ".log");
    EDDY_ASSIGN_OR_RETURN(
        int rc, RunProcess({py, "-c", kParquetScript, o.file->path(), tmp_out, spec_path}, log));
    if (rc != 0) {
      ::unlink(tmp_out.c_str());
      if (rc == kNoPyarrowExit) return NoPyarrow(py, Quote(TailOf(log), 300));
      return Status::Internal(StrCat("the Parquet writer (", py, ") failed with exit code ", rc,
                                     ": ", Quote(TailOf(log), 1000)));
    }
    if (::rename(tmp_out.c_str(), o.final_path.c_str()) != 0) {
      Status e = Errno("cannot rename", tmp_out);
      ::unlink(tmp_out.c_str());
      return e;
    }
  }
  return Status::OK();
}

}  // namespace eddy
