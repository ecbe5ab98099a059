// Helpers shared by unit, scenario and property tests: temporary
// directories, file I/O, and comparison of JSON lines.

#ifndef EDDY_TESTS_TEST_UTIL_H_
#define EDDY_TESTS_TEST_UTIL_H_

#include <string>
#include <string_view>
#include <vector>

namespace eddy::testing {

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string File(std::string_view name) const;

 private:
  std::string path_;
};

void WriteFile(const std::string& path, std::string_view contents);
std::string ReadFile(const std::string& path);
// Lines of a file without their newlines; a missing file has no lines.
std::vector<std::string> ReadLines(const std::string& path);
std::vector<std::string> SplitLines(std::string_view text);

// Checks that `actual` (a JSON document) contains every member of `expected`
// (a JSON object) with an equal value; nested objects compare the same way,
// arrays and scalars exactly (numbers by value). Returns "" on a match, else
// a description of the first difference.
std::string JsonSubsetDiff(std::string_view expected, std::string_view actual);

// The directory of the source tree (for test data).
std::string SourceDir();

}  // namespace eddy::testing

#endif  // EDDY_TESTS_TEST_UTIL_H_
