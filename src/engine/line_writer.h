// LineWriter: a buffered, append-only writer of text lines to a file,
// standard output or standard error. Outputs of the engine (accepted, late,
// dead-letter records) go through it. Lines are buffered (1 MiB) and written
// with write(2); Flush() pushes them to the operating system.
//
// One thread uses a writer. Errors are sticky: after a failed write, status()
// reports it and further lines are dropped, so the engine can stop cleanly.

#ifndef EDDY_ENGINE_LINE_WRITER_H_
#define EDDY_ENGINE_LINE_WRITER_H_

#include <memory>
#include <string>
#include <string_view>

#include "eddy/status.h"

namespace eddy {

class LineWriter {
 public:
  // `path` is a file (created or truncated; parent directories are created),
  // "-" for stdout or "stderr".
  static Result<std::unique_ptr<LineWriter>> Open(const std::string& path);
  // Reopens a file written before, cut back to its first `length` bytes, for
  // appending (restoring a checkpoint: rows written after it are dropped and
  // written again by the replay). stdout and stderr cannot be cut back and
  // are simply reopened.
  static Result<std::unique_ptr<LineWriter>> OpenAt(const std::string& path, uint64_t length);
  ~LineWriter();

  // Appends `line` and a newline. `line` must not contain a newline.
  void WriteLine(std::string_view line);
  Status Flush();
  // Flush() and then fdatasync(2), so the lines survive a machine crash
  // (checkpoints record output lengths that must be on disk).
  Status Sync();
  Status Close();

  const std::string& path() const { return path_; }
  uint64_t lines() const { return lines_; }
  // Bytes in the file, buffered ones included.
  uint64_t size() const { return size_; }
  Status status() const { return status_; }

 private:
  LineWriter(std::string path, int fd, bool owns_fd);

  std::string path_;
  int fd_;
  bool owns_fd_;
  std::string buffer_;
  uint64_t lines_ = 0;
  uint64_t size_ = 0;
  Status status_;
};

}  // namespace eddy

#endif  // EDDY_ENGINE_LINE_WRITER_H_
