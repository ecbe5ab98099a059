// libFuzzer target: the history reader on arbitrary segment bytes. The input
// is written as the only segment of a history directory (two groups, of 3
// and 1 features) and scanned. A scan may fail with kCorruption, but must not
// crash, hang or trip ASan/UBSan, and:
//   - every record it returns has a known group and that group's width;
//   - a writer opened on the directory either refuses (corruption) or cuts a
//     torn tail, after which a scan succeeds and returns exactly the records
//     the first scan returned (the reader and the writer's recovery agree).
//
// Build with -DEDDY_FUZZ=ON (clang); seed: src/store/testdata/history_v1/
// history-000000.log. The file belongs to the fuzz build, not to eddy_store
// (whose source glob should leave fuzz_*.cc out; as an unused archive member
// it is harmless meanwhile).

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "store/history.h"

namespace {

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_history: property failed: %s\n%s\n", what, detail.c_str());
  std::abort();
}

const std::vector<eddy::HistoryGroup>& Groups() {
  static const std::vector<eddy::HistoryGroup> groups = {{"user", {"count", "mean", "country"}},
                                                         {"merchant", {"total"}}};
  return groups;
}

// A fresh directory per process, holding groups.json (written once).
const std::string& Dir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/fuzz_history_XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) Fail("mkdtemp", "");
    std::string d = tmpl;
    auto w = eddy::HistoryWriter::Open(d, Groups());
    if (!w.ok()) Fail("open writer", w.status().ToString());
    return d;
  }();
  return dir;
}

struct Seen {
  uint32_t group;
  std::string key;
  eddy::StoredVector v;
  bool operator==(const Seen&) const = default;
};

eddy::Status ScanAll(std::vector<Seen>& out) {
  auto r = eddy::HistoryReader::Open(Dir());
  if (!r.ok()) return r.status();
  return (*r)->Scan([&](uint32_t g, std::string_view key, const eddy::StoredVector& v) {
    if (g >= Groups().size() || v.values.size() != Groups()[g].feature_names.size()) {
      Fail("record shape", "group or width out of range");
    }
    out.push_back({g, std::string(key), v});
    return eddy::Status::OK();
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string segment = Dir() + "/history-000000.log";
  std::FILE* f = std::fopen(segment.c_str(), "wb");
  if (f == nullptr) Fail("write segment", segment);
  if (size > 0 && std::fwrite(data, 1, size, f) != size) Fail("write segment", segment);
  std::fclose(f);

  std::vector<Seen> first;
  eddy::Status s = ScanAll(first);
  if (!s.ok() && s.code() != eddy::StatusCode::kCorruption) Fail("scan status", s.ToString());

  auto w = eddy::HistoryWriter::Open(Dir(), Groups());
  if (!w.ok()) {
    if (s.ok()) Fail("writer refused a history the reader accepted", w.status().ToString());
    return 0;
  }
  w->reset();
  if (!s.ok()) Fail("writer accepted a history the reader refused", s.ToString());
  std::vector<Seen> second;
  s = ScanAll(second);
  if (!s.ok()) Fail("scan after the writer's recovery", s.ToString());
  if (second != first) Fail("records changed by the writer's recovery", "");
  return 0;
}
