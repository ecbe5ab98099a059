#include "engine/progress.h"

#include <unistd.h>

#include <cstdio>

#include "base/strings.h"

namespace eddy {

std::string FormatCount(uint64_t n) {
  std::string digits = StrCat(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string FormatRate(double v) {
  char buf[32];
  if (v >= 1e9) {
    std::snprintf(buf, sizeof(buf), "%.2fG", v / 1e9);
  } else if (v >= 1e6) {
    std::snprintf(buf, sizeof(buf), "%.2fM", v / 1e6);
  } else if (v >= 1e3) {
    std::snprintf(buf, sizeof(buf), "%.1fK", v / 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  }
  return buf;
}

ProgressReporter::ProgressReporter(bool enabled, Duration interval, ProcessingTime start)
    : enabled_(enabled),
      tty_(::isatty(STDERR_FILENO) == 1),
      interval_(interval),
      start_(start),
      last_(start) {}

void ProgressReporter::MaybeReport(ProcessingTime now, const RunSummary& s) {
  if (!enabled_ || now - last_ < interval_) return;
  uint64_t records = 0, accepted = 0, late = 0, dead = 0, filtered = 0;
  for (const SourceSummary& src : s.sources) {
    records += src.records;
    accepted += src.accepted;
    late += src.late;
    dead += src.dead_letter;
    filtered += src.filtered;
  }
  double secs = (now - last_).seconds();
  double rate = secs > 0 ? static_cast<double>(records - last_records_) / secs : 0;
  last_ = now;
  last_records_ = records;
  std::string line = StrCat("eddy: ", s.pipeline, " | ",
                            FormatDuration(Duration::Seconds((now - start_).micros() / 1000000)),
                            " | ", FormatCount(records), " records (", FormatRate(rate),
                            "/s) | accepted ", FormatCount(accepted), " | late ", FormatCount(late),
                            " | dead-letter ", FormatCount(dead));
  if (filtered > 0) StrAppend(line, " | filtered ", FormatCount(filtered));
  for (const SourceSummary& src : s.sources) {
    StrAppend(line, " | wm ", s.sources.size() > 1 ? StrCat(src.name, "=") : "", src.watermark);
    if (src.idle_partitions > 0) StrAppend(line, " (", src.idle_partitions, " idle)");
  }
  if (tty_) {
    line = StrCat("\r\033[K", line);
    wrote_in_place_ = true;
  } else {
    line.push_back('\n');
  }
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

void ProgressReporter::Finish() {
  if (wrote_in_place_) {
    ssize_t ignored = ::write(STDERR_FILENO, "\n", 1);
    (void)ignored;
    wrote_in_place_ = false;
  }
}

}  // namespace eddy
