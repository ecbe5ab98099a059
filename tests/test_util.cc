#include "test_util.h"

#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace eddy::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/eddy_test_XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::File(std::string_view name) const { return path_ + "/" + std::string(name); }

void WriteFile(const std::string& path, std::string_view contents) {
  std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    lines.emplace_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

std::vector<std::string> ReadLines(const std::string& path) {
  if (!std::filesystem::exists(path)) return {};
  return SplitLines(ReadFile(path));
}

namespace {

bool NumbersEqual(const boost::json::value& a, const boost::json::value& b) {
  auto num = [](const boost::json::value& v) {
    if (v.is_int64()) return static_cast<double>(v.as_int64());
    if (v.is_uint64()) return static_cast<double>(v.as_uint64());
    return v.as_double();
  };
  return num(a) == num(b);
}

std::string Diff(const boost::json::value& e, const boost::json::value& a,
                 const std::string& path) {
  if (e.is_object()) {
    if (!a.is_object()) return path + ": expected an object, got " + boost::json::serialize(a);
    for (const auto& [k, v] : e.as_object()) {
      std::string sub = path.empty() ? std::string(k) : path + "." + std::string(k);
      const boost::json::value* av = a.as_object().if_contains(k);
      if (av == nullptr) return sub + ": missing";
      std::string d = Diff(v, *av, sub);
      if (!d.empty()) return d;
    }
    return "";
  }
  if (e.is_number() && a.is_number()) {
    return NumbersEqual(e, a) ? ""
                              : path + ": expected " + boost::json::serialize(e) + ", got " +
                                    boost::json::serialize(a);
  }
  if (e != a) {
    return path + ": expected " + boost::json::serialize(e) + ", got " + boost::json::serialize(a);
  }
  return "";
}

}  // namespace

std::string JsonSubsetDiff(std::string_view expected, std::string_view actual) {
  boost::system::error_code ec;
  boost::json::value e = boost::json::parse(expected, ec);
  if (ec) return "expected value is not JSON: " + std::string(expected);
  boost::json::value a = boost::json::parse(actual, ec);
  if (ec) return "actual value is not JSON: " + std::string(actual);
  return Diff(e, a, "");
}

std::string SourceDir() { return EDDY_SOURCE_DIR; }

}  // namespace eddy::testing
