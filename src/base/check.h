// CHECKs guard invariants whose violation would corrupt state: a watermark
// moving backwards, a key encoding mismatch, an index past the end. They abort
// the process with the failed condition, the location and any streamed
// context. User input must never be able to trigger one: bad input is an
// expected failure and is reported as a Status.

#ifndef EDDY_BASE_CHECK_H_
#define EDDY_BASE_CHECK_H_

#include <sstream>

namespace eddy::internal {

// Collects the message of a failed check and aborts in its destructor.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  [[noreturn]] ~CheckFailure();
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

// Lets `EDDY_CHECK(x) << ...` be an expression of type void.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace eddy::internal

#define EDDY_CHECK(condition)          \
  (__builtin_expect(!!(condition), 1)) \
      ? (void)0                        \
      : ::eddy::internal::Voidify() &  \
            ::eddy::internal::CheckFailure(__FILE__, __LINE__, #condition).stream()

#define EDDY_CHECK_OP_(a, b, op) EDDY_CHECK((a)op(b)) << "(" << (a) << " vs " << (b) << ") "
#define EDDY_CHECK_EQ(a, b) EDDY_CHECK_OP_(a, b, ==)
#define EDDY_CHECK_NE(a, b) EDDY_CHECK_OP_(a, b, !=)
#define EDDY_CHECK_LT(a, b) EDDY_CHECK_OP_(a, b, <)
#define EDDY_CHECK_LE(a, b) EDDY_CHECK_OP_(a, b, <=)
#define EDDY_CHECK_GT(a, b) EDDY_CHECK_OP_(a, b, >)
#define EDDY_CHECK_GE(a, b) EDDY_CHECK_OP_(a, b, >=)

#ifdef NDEBUG
#define EDDY_DCHECK(condition) \
  while (false) EDDY_CHECK(condition)
#else
#define EDDY_DCHECK(condition) EDDY_CHECK(condition)
#endif

#endif  // EDDY_BASE_CHECK_H_
