// Minimal leveled logging to stderr. The level comes from the environment
// variable EDDY_LOG_LEVEL (debug, info, warn, error; default info) and can be
// set in code. Logging is for operators; user-facing progress and summaries are
// written by the engine's reporter, not through this.
//
// Thread-safe: each message is written with one write call.

#ifndef EDDY_BASE_LOGGING_H_
#define EDDY_BASE_LOGGING_H_

#include <sstream>

namespace eddy {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

LogLevel GetLogLevel();
void SetLogLevel(LogLevel level);

namespace internal {

class LogMessage {
 public:
  LogMessage(LogLevel level, const char* file, int line);
  ~LogMessage();
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

}  // namespace internal
}  // namespace eddy

#define EDDY_LOG(level)                                     \
  if (::eddy::LogLevel::k##level < ::eddy::GetLogLevel()) { \
  } else                                                    \
    ::eddy::internal::LogMessage(::eddy::LogLevel::k##level, __FILE__, __LINE__).stream()

#endif  // EDDY_BASE_LOGGING_H_
