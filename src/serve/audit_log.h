// The audit log: an append-only file of JSON lines recording every
// prediction (inputs, model version, output) and every admin action, each
// with its caller's principal name. Format version 1, documented in
// docs/operations/security.md:
//
//   {"v":1,"ts":"2024-05-01T12:00:00.123456Z","seq":41,"kind":"prediction",
//    "caller":"fraud-svc",<the caller's fields>}
//
// `seq` counts records from 0 in file order since the log was opened; `ts`
// is the Clock's time when the record was appended (non-decreasing in seq
// order with the system clock).
//
// Buffering. Append copies the record into an in-memory buffer under a
// mutex (no I/O on the caller's thread); a flusher thread writes the buffer
// every flush_interval, or sooner when it is half full. Memory is bounded:
// when max_buffer_bytes are waiting, Append blocks until the flusher has
// taken them (backpressure, never loss). Stop writes everything that was
// appended and returns only then, so a clean stop loses nothing; a crash can
// lose at most the last flush_interval of records (with `fsync` on, once
// written they survive power loss too).
//
// Failure. A failed write (disk full) is kept and retried every
// flush_interval; meanwhile Append fails fast with the I/O error (the caller
// decides whether to serve without an audit record) and nothing already
// accepted is dropped. Records are only lost if the final write at Stop
// fails, and Stop then says so.
//
// Thread safety: every method may be called from any thread.

#ifndef EDDY_SERVE_AUDIT_LOG_H_
#define EDDY_SERVE_AUDIT_LOG_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "base/clock.h"
#include "base/time.h"
#include "eddy/status.h"

namespace eddy {

class Counter;
class MetricsRegistry;

struct AuditLogOptions {
  // The file, created with mode 0600 if absent and appended to if present.
  std::string path;
  // Bytes of records waiting to be written before Append blocks.
  size_t max_buffer_bytes = size_t{4} << 20;
  Duration flush_interval = Duration::Millis(200);
  // fsync after every flush (Stop always fsyncs).
  bool fsync = false;
};

class AuditLog {
 public:
  // Opens the file and starts the flusher thread. `clock` and `metrics` (may
  // be null) must outlive the log. Exports eddy_audit_records_total,
  // eddy_audit_bytes_written_total, eddy_audit_write_errors_total and
  // eddy_audit_rejected_total.
  static Result<std::unique_ptr<AuditLog>> Open(AuditLogOptions options, Clock& clock,
                                                MetricsRegistry* metrics = nullptr);
  // Stops (see Stop) if not stopped yet.
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends one record of `kind` ("prediction", "admin", ...) by `caller`
  // (a principal's name, never a token). `fields` is the JSON text of zero
  // or more object members without braces, e.g.
  //   "\"model\":\"fraud\",\"version\":\"3\",\"score\":0.93"
  // (write it with JsonWriter between a BeginObject/EndObject and strip the
  // braces, or by hand with AppendJsonString). It is copied as is: it must be
  // valid JSON members in UTF-8.
  // Errors: FailedPrecondition after Stop; the pending I/O error while a
  // write is failing.
  Status Append(std::string_view kind, std::string_view caller, std::string_view fields);

  // Blocks until every record appended before the call is written (and
  // fsynced when options.fsync). Returns the pending write error, if any.
  Status Flush();

  // Closes and reopens the file at `path` (after logrotate renamed it).
  // Records buffered so far go to the new file.
  Status Reopen();

  // Refuses new records, writes everything appended, fsyncs and closes.
  // Idempotent; returns the first write error that lost records, if any.
  Status Stop();

  // Records appended so far (the next seq).
  uint64_t records_appended() const;
  // Records written to the file so far.
  uint64_t records_written() const;

 private:
  AuditLog(AuditLogOptions options, Clock& clock, int fd, MetricsRegistry* metrics);
  void FlusherLoop();
  // Writes `data` from `offset` on; advances offset. Needs fd_mu_.
  Status WriteSome(const std::string& data, size_t& offset);

  const AuditLogOptions options_;
  Clock& clock_;

  mutable std::mutex mu_;
  std::condition_variable flusher_cv_;  // wakes the flusher
  std::condition_variable done_cv_;     // wakes appenders waiting for space, Flush, Stop
  std::string active_;                  // GUARDED_BY(mu_)
  uint64_t next_seq_ = 0;               // GUARDED_BY(mu_)
  uint64_t written_seq_ = 0;            // GUARDED_BY(mu_): records below are written
  uint64_t flush_wanted_ = 0;           // GUARDED_BY(mu_): a Flush waits for this seq
  bool stopping_ = false;               // GUARDED_BY(mu_)
  bool stopped_ = false;                // GUARDED_BY(mu_)
  Status write_error_;                  // GUARDED_BY(mu_)
  Status final_status_;                 // GUARDED_BY(mu_)

  std::mutex fd_mu_;
  int fd_;  // GUARDED_BY(fd_mu_)

  Counter* records_total_ = nullptr;
  Counter* bytes_total_ = nullptr;
  Counter* errors_total_ = nullptr;
  Counter* rejected_total_ = nullptr;

  std::mutex stop_mu_;  // serialises Stop
  std::thread flusher_;
};

}  // namespace eddy

#endif  // EDDY_SERVE_AUDIT_LOG_H_
