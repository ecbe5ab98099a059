#include "serve/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/json_writer.h"
#include "base/strings.h"
#include "monitor/metrics.h"

namespace eddy {

namespace {

Result<int> OpenForAppend(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::IoError(
        StrCat("cannot open audit log ", Quote(path), ": ", std::strerror(errno)));
  }
  return fd;
}

}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::Open(AuditLogOptions options, Clock& clock,
                                                 MetricsRegistry* metrics) {
  if (options.path.empty()) return Status::InvalidArgument("audit log: no path");
  if (options.max_buffer_bytes == 0) {
    return Status::InvalidArgument("audit log: max_buffer_bytes must be positive");
  }
  if (options.flush_interval <= Duration::Zero()) {
    return Status::InvalidArgument("audit log: flush_interval must be positive");
  }
  EDDY_ASSIGN_OR_RETURN(int fd, OpenForAppend(options.path));
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(options), clock, fd, metrics));
}

AuditLog::AuditLog(AuditLogOptions options, Clock& clock, int fd, MetricsRegistry* metrics)
    : options_(std::move(options)), clock_(clock), fd_(fd) {
  if (metrics != nullptr) {
    records_total_ =
        &metrics->GetCounter("eddy_audit_records_total", "Audit records written to the audit log.");
    bytes_total_ =
        &metrics->GetCounter("eddy_audit_bytes_written_total", "Bytes written to the audit log.");
    errors_total_ = &metrics->GetCounter("eddy_audit_write_errors_total",
                                         "Failed writes to the audit log (retried).");
    rejected_total_ =
        &metrics->GetCounter("eddy_audit_rejected_total",
                             "Audit records refused because the log was failing or stopped.");
  }
  active_.reserve(options_.max_buffer_bytes / 2);
  flusher_ = std::thread([this] { FlusherLoop(); });
}

AuditLog::~AuditLog() { (void)Stop(); }

Status AuditLog::Append(std::string_view kind, std::string_view caller, std::string_view fields) {
  if (fields.find('\n') != std::string_view::npos) {
    return Status::InvalidArgument("audit record fields contain a newline");
  }
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (stopping_) {
      if (rejected_total_ != nullptr) rejected_total_->Increment();
      return Status::FailedPrecondition("audit log is stopped");
    }
    if (!write_error_.ok()) {
      if (rejected_total_ != nullptr) rejected_total_->Increment();
      return write_error_;
    }
    // A record larger than the whole buffer still goes in when the buffer is
    // empty, or it would wait forever.
    if (active_.size() < options_.max_buffer_bytes || active_.empty()) break;
    flusher_cv_.notify_one();
    done_cv_.wait(lock);
  }
  std::string& out = active_;
  out += "{\"v\":1,\"ts\":\"";
  AppendIso8601(out, EventTime::FromMicros(clock_.Now().micros()));
  out += "\",\"seq\":";
  AppendInt(out, static_cast<int64_t>(next_seq_));
  out += ",\"kind\":";
  AppendJsonString(out, kind);
  out += ",\"caller\":";
  AppendJsonString(out, caller);
  if (!fields.empty()) {
    out += ',';
    out += fields;
  }
  out += "}\n";
  ++next_seq_;
  if (active_.size() >= options_.max_buffer_bytes / 2) flusher_cv_.notify_one();
  return Status::OK();
}

Status AuditLog::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t target = next_seq_;
  if (flush_wanted_ < target) flush_wanted_ = target;
  flusher_cv_.notify_one();
  done_cv_.wait(lock, [&] { return written_seq_ >= target || !write_error_.ok() || stopped_; });
  if (!write_error_.ok()) return write_error_;
  if (written_seq_ < target) return final_status_;
  return Status::OK();
}

Status AuditLog::Reopen() {
  EDDY_ASSIGN_OR_RETURN(int fd, OpenForAppend(options_.path));
  std::lock_guard<std::mutex> lock(fd_mu_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  return Status::OK();
}

Status AuditLog::WriteSome(const std::string& data, size_t& offset) {
  while (offset < data.size()) {
    ssize_t n = ::write(fd_, data.data() + offset, data.size() - offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(
          StrCat("cannot write audit log ", Quote(options_.path), ": ", std::strerror(errno)));
    }
    offset += static_cast<size_t>(n);
  }
  return Status::OK();
}

void AuditLog::FlusherLoop() {
  std::string writing;  // records taken from active_, written from `offset` on
  size_t offset = 0;
  uint64_t writing_upto = 0;  // the seq after the last record in `writing`
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    // While a write is failing, retry only every flush_interval.
    flusher_cv_.wait_for(lock, std::chrono::microseconds(options_.flush_interval.micros()), [&] {
      return stopping_ || (write_error_.ok() && (active_.size() >= options_.max_buffer_bytes / 2 ||
                                                 flush_wanted_ > written_seq_));
    });
    while (true) {
      if (offset == writing.size()) {
        writing.clear();
        offset = 0;
        if (active_.empty()) break;
        writing.swap(active_);
        writing_upto = next_seq_;
        done_cv_.notify_all();  // space for blocked appenders
      }
      bool sync = options_.fsync;
      size_t before = offset;
      lock.unlock();
      Status s;
      {
        std::lock_guard<std::mutex> fd_lock(fd_mu_);
        s = WriteSome(writing, offset);
        if (s.ok() && sync && ::fsync(fd_) != 0) {
          s = Status::IoError(
              StrCat("cannot fsync audit log ", Quote(options_.path), ": ", std::strerror(errno)));
        }
      }
      lock.lock();
      if (bytes_total_ != nullptr) bytes_total_->Increment(offset - before);
      if (!s.ok()) {
        write_error_ = s;
        if (errors_total_ != nullptr) errors_total_->Increment();
        done_cv_.notify_all();
        break;
      }
      if (records_total_ != nullptr) records_total_->Increment(writing_upto - written_seq_);
      written_seq_ = writing_upto;
      write_error_ = Status::OK();
      done_cv_.notify_all();
    }
    if (stopping_) {
      if (offset < writing.size() || !active_.empty()) {
        final_status_ = write_error_.WithContext(
            StrCat("audit log stopped with ", next_seq_ - written_seq_, " records not written"));
      }
      return;
    }
  }
}

Status AuditLog::Stop() {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return final_status_;
    stopping_ = true;
  }
  flusher_cv_.notify_one();
  flusher_.join();
  {
    std::lock_guard<std::mutex> fd_lock(fd_mu_);
    if (fd_ >= 0) {
      if (::fsync(fd_) != 0 && errno != EINVAL) {
        std::lock_guard<std::mutex> lock(mu_);
        if (final_status_.ok()) {
          final_status_ = Status::IoError(
              StrCat("cannot fsync audit log ", Quote(options_.path), ": ", std::strerror(errno)));
        }
      }
      ::close(fd_);
      fd_ = -1;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  done_cv_.notify_all();
  return final_status_;
}

uint64_t AuditLog::records_appended() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_seq_;
}

uint64_t AuditLog::records_written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return written_seq_;
}

}  // namespace eddy
