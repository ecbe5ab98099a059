#include "engine/line_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/strings.h"

namespace eddy {
namespace {
constexpr size_t kBufferSize = 1 << 20;
}  // namespace

Result<std::unique_ptr<LineWriter>> LineWriter::Open(const std::string& path) {
  if (path == "-") return std::unique_ptr<LineWriter>(new LineWriter(path, STDOUT_FILENO, false));
  if (path == "stderr") {
    return std::unique_ptr<LineWriter>(new LineWriter(path, STDERR_FILENO, false));
  }
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IoError(
        StrCat("cannot open output ", Quote(path, 500), ": ", std::strerror(errno)));
  }
  return std::unique_ptr<LineWriter>(new LineWriter(path, fd, true));
}

Result<std::unique_ptr<LineWriter>> LineWriter::OpenAt(const std::string& path, uint64_t length) {
  if (path == "-" || path == "stderr") return Open(path);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IoError(
        StrCat("cannot open output ", Quote(path, 500), ": ", std::strerror(errno)));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) < length) {
    ::close(fd);
    return Status::FailedPrecondition(
        StrCat("output ", Quote(path, 500), " is shorter than at the checkpoint (", length,
               " bytes): it was changed or removed; run with --fresh to start over"));
  }
  if (::ftruncate(fd, static_cast<off_t>(length)) != 0 ||
      ::lseek(fd, static_cast<off_t>(length), SEEK_SET) < 0) {
    Status s =
        Status::IoError(StrCat("cannot cut back ", Quote(path, 500), ": ", std::strerror(errno)));
    ::close(fd);
    return s;
  }
  std::unique_ptr<LineWriter> w(new LineWriter(path, fd, true));
  w->size_ = length;
  return w;
}

LineWriter::LineWriter(std::string path, int fd, bool owns_fd)
    : path_(std::move(path)), fd_(fd), owns_fd_(owns_fd) {
  buffer_.reserve(kBufferSize + 4096);
}

LineWriter::~LineWriter() { (void)Close(); }

void LineWriter::WriteLine(std::string_view line) {
  if (!status_.ok()) return;
  buffer_.append(line);
  buffer_.push_back('\n');
  ++lines_;
  size_ += line.size() + 1;
  if (buffer_.size() >= kBufferSize) (void)Flush();
}

Status LineWriter::Flush() {
  if (!status_.ok() || fd_ < 0) return status_;
  size_t done = 0;
  while (done < buffer_.size()) {
    ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      status_ = Status::IoError(StrCat("writing ", Quote(path_, 500), ": ", std::strerror(errno)));
      break;
    }
    done += static_cast<size_t>(n);
  }
  buffer_.clear();
  return status_;
}

Status LineWriter::Sync() {
  EDDY_RETURN_IF_ERROR(Flush());
  if (fd_ < 0 || !owns_fd_) return status_;  // stdout/stderr: nothing to sync
  while (::fdatasync(fd_) != 0) {
    if (errno == EINTR) continue;
    // A pipe or terminal cannot be synced; that is not an error.
    if (errno == EINVAL || errno == EROFS) break;
    status_ = Status::IoError(StrCat("syncing ", Quote(path_, 500), ": ", std::strerror(errno)));
    break;
  }
  return status_;
}

Status LineWriter::Close() {
  if (fd_ < 0) return status_;
  Status s = Flush();
  if (owns_fd_ && ::close(fd_) != 0 && s.ok()) {
    s = Status::IoError(StrCat("closing ", Quote(path_, 500), ": ", std::strerror(errno)));
    status_ = s;
  }
  fd_ = -1;
  return s;
}

}  // namespace eddy
