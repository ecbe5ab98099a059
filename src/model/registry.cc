#include "model/registry.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "base/json_writer.h"
#include "base/strings.h"
#include "model/hashing.h"
#include "model/json_dom.h"

namespace eddy {
namespace {

namespace fs = std::filesystem;
using model_internal::JsonValue;

constexpr std::string_view kLiveFile = "live";
constexpr std::string_view kHistoryFile = "history.jsonl";
constexpr std::string_view kLockFile = ".lock";
constexpr std::string_view kMetadataFile = "metadata.json";

Status Errno(std::string_view what, const std::string& path) {
  return Status::IoError(StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// A file descriptor closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

// Writes `data` to a new file and fsyncs it.
Status WriteNewFile(const std::string& path, std::string_view data, mode_t mode) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0) return Errno("cannot create", path);
  EDDY_RETURN_IF_ERROR(WriteAll(fd.get(), data, path));
  if (::fsync(fd.get()) != 0) return Errno("cannot sync", path);
  return Status::OK();
}

Status SyncDir(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return Errno("cannot open directory", path);
  if (::fsync(fd.get()) != 0) return Errno("cannot sync directory", path);
  return Status::OK();
}

// Holds an exclusive flock on <model dir>/.lock while alive.
class ModelLock {
 public:
  static Result<std::unique_ptr<ModelLock>> Acquire(const std::string& model_dir) {
    const std::string path = StrCat(model_dir, "/", kLockFile);
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("cannot open lock file", path);
    auto lock = std::unique_ptr<ModelLock>(new ModelLock(fd));
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) return Errno("cannot lock", path);
    }
    return lock;
  }
  ~ModelLock() { ::close(fd_); }

 private:
  explicit ModelLock(int fd) : fd_(fd) {}
  int fd_;
};

std::optional<int64_t> ParseVersionName(std::string_view s) {
  if (s.empty() || s.size() > 18 || s[0] == '0') return std::nullopt;
  int64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || v < 1) return std::nullopt;
  return v;
}

Result<std::vector<int64_t>> VersionNumbers(const std::string& model_dir) {
  std::vector<int64_t> out;
  std::error_code ec;
  fs::directory_iterator it(model_dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return out;
    return Status::IoError(StrCat("cannot list ", model_dir, ": ", ec.message()));
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return Status::IoError(StrCat("cannot list ", model_dir, ": ", ec.message()));
    std::error_code dir_ec;
    if (!it->is_directory(dir_ec)) continue;
    if (auto v = ParseVersionName(it->path().filename().string())) out.push_back(*v);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string_view TaskName(ModelTask t) { return ModelTaskName(t); }

Result<ModelTask> ParseTask(std::string_view s) {
  for (ModelTask t : {ModelTask::kRegression, ModelTask::kBinaryClassification,
                      ModelTask::kMulticlassClassification}) {
    if (s == ModelTaskName(t)) return t;
  }
  return Status::InvalidArgument(StrCat("unknown task ", Quote(s)));
}

Result<OutputKind> ParseOutput(std::string_view s) {
  for (OutputKind k : {OutputKind::kValue, OutputKind::kProbability, OutputKind::kClassIndex}) {
    if (s == OutputKindName(k)) return k;
  }
  return Status::InvalidArgument(StrCat("unknown output kind ", Quote(s)));
}

void WriteStrings(JsonWriter& j, std::string_view key, const std::vector<std::string>& v) {
  j.Key(key).BeginArray();
  for (const std::string& s : v) j.String(s);
  j.EndArray();
}

Result<std::string> GetString(const JsonValue& obj, std::string_view key) {
  const JsonValue* v = obj.Find(key);
  if (v == nullptr || !v->is_string()) {
    return Status::InvalidArgument(StrCat(key, ": expected a string"));
  }
  return v->str();
}

Result<double> GetNumber(const JsonValue& obj, std::string_view key) {
  const JsonValue* v = obj.Find(key);
  if (v == nullptr || !v->is_number()) {
    return Status::InvalidArgument(StrCat(key, ": expected a number"));
  }
  return v->number();
}

// An integer field; doubles outside int64 (or NaN) never reach a cast.
Result<int64_t> GetInt(const JsonValue& obj, std::string_view key, int64_t min, int64_t max) {
  EDDY_ASSIGN_OR_RETURN(double d, GetNumber(obj, key));
  if (!(d >= static_cast<double>(min) && d <= static_cast<double>(max)) || d != std::trunc(d)) {
    return Status::InvalidArgument(
        StrCat(key, ": expected an integer in [", min, ", ", max, "], found ", d));
  }
  return static_cast<int64_t>(d);
}

constexpr int64_t kMaxVersion = int64_t{1} << 53;

Result<std::vector<std::string>> GetStrings(const JsonValue& obj, std::string_view key) {
  std::vector<std::string> out;
  const JsonValue* v = obj.Find(key);
  if (v == nullptr) return out;
  if (!v->is_array() || (v->is_number_array() && v->size() > 0)) {
    return Status::InvalidArgument(StrCat(key, ": expected an array of strings"));
  }
  for (const JsonValue& s : v->items()) {
    if (!s.is_string()) return Status::InvalidArgument(StrCat(key, ": expected strings"));
    out.push_back(s.str());
  }
  return out;
}

Result<std::optional<EventTime>> GetTime(const JsonValue& obj, std::string_view key) {
  const JsonValue* v = obj.Find(key);
  if (v == nullptr || v->is_null()) return std::optional<EventTime>();
  if (!v->is_string()) return Status::InvalidArgument(StrCat(key, ": expected a timestamp"));
  auto t = ParseIso8601(v->str());
  if (!t.ok()) return t.status().WithContext(key);
  return std::optional<EventTime>(*t);
}

Result<VersionMetadata> MetadataFromJson(std::string_view json) {
  EDDY_ASSIGN_OR_RETURN(JsonValue root, model_internal::ParseJson(json));
  if (!root.is_object()) return Status::InvalidArgument("expected an object");
  VersionMetadata m;
  EDDY_ASSIGN_OR_RETURN(m.name, GetString(root, "name"));
  EDDY_ASSIGN_OR_RETURN(int64_t version, GetInt(root, "version", 1, kMaxVersion));
  m.version = ModelVersion(version);
  EDDY_ASSIGN_OR_RETURN(std::string format, GetString(root, "format"));
  EDDY_ASSIGN_OR_RETURN(m.format, ParseModelFormat(format));
  EDDY_ASSIGN_OR_RETURN(m.model_file, GetString(root, "model_file"));
  if (m.model_file.empty() || m.model_file.find('/') != std::string::npos ||
      m.model_file[0] == '.') {
    return Status::InvalidArgument(
        StrCat("model_file: ", Quote(m.model_file), " is not a file name"));
  }
  EDDY_ASSIGN_OR_RETURN(std::string task, GetString(root, "task"));
  EDDY_ASSIGN_OR_RETURN(m.task, ParseTask(task));
  EDDY_ASSIGN_OR_RETURN(std::string output, GetString(root, "output"));
  EDDY_ASSIGN_OR_RETURN(m.output, ParseOutput(output));
  EDDY_ASSIGN_OR_RETURN(m.objective, GetString(root, "objective"));
  EDDY_ASSIGN_OR_RETURN(int64_t outputs, GetInt(root, "num_outputs", 1, 65536));
  m.num_outputs = static_cast<size_t>(outputs);
  EDDY_ASSIGN_OR_RETURN(m.feature_names, GetStrings(root, "feature_names"));
  EDDY_ASSIGN_OR_RETURN(m.categorical_features, GetStrings(root, "categorical_features"));
  EDDY_ASSIGN_OR_RETURN(m.hashed_fields, GetStrings(root, "hashed_fields"));
  EDDY_ASSIGN_OR_RETURN(m.content_hash, GetString(root, "content_hash"));
  EDDY_ASSIGN_OR_RETURN(std::string created, GetString(root, "created_at"));
  EDDY_ASSIGN_OR_RETURN(EventTime created_at, ParseIso8601(created));
  m.created_at = ProcessingTime::FromMicros(created_at.micros());
  const JsonValue* lineage = root.Find("lineage");
  if (lineage != nullptr && lineage->is_object()) {
    Lineage& l = m.lineage;
    if (lineage->Find("source") != nullptr) {
      EDDY_ASSIGN_OR_RETURN(l.source, GetString(*lineage, "source"));
    }
    EDDY_ASSIGN_OR_RETURN(l.data_from, GetTime(*lineage, "data_from"));
    EDDY_ASSIGN_OR_RETURN(l.data_to, GetTime(*lineage, "data_to"));
    if (const JsonValue* p = lineage->Find("parameters"); p != nullptr && p->is_object()) {
      for (size_t i = 0; i < p->keys().size(); ++i) {
        const JsonValue& v = p->items()[i];
        if (!v.is_string()) {
          return Status::InvalidArgument(
              StrCat("lineage.parameters.", p->keys()[i], ": expected a string"));
        }
        l.parameters.emplace_back(p->keys()[i], v.str());
      }
    }
    if (const JsonValue* p = lineage->Find("metrics"); p != nullptr && p->is_object()) {
      for (size_t i = 0; i < p->keys().size(); ++i) {
        const JsonValue& v = p->items()[i];
        if (!v.is_number()) {
          return Status::InvalidArgument(
              StrCat("lineage.metrics.", p->keys()[i], ": expected a number"));
        }
        l.metrics.emplace_back(p->keys()[i], v.number());
      }
    }
    if (const JsonValue* p = lineage->Find("parent_version"); p != nullptr && p->is_number()) {
      EDDY_ASSIGN_OR_RETURN(int64_t parent, GetInt(*lineage, "parent_version", 0, kMaxVersion));
      l.parent = ModelVersion(parent);
    }
  }
  return m;
}

std::atomic<uint64_t> g_temp_counter{0};

std::string TempName(std::string_view prefix) {
  return StrCat(prefix, ::getpid(), "-", g_temp_counter.fetch_add(1));
}

}  // namespace

std::string VersionMetadataToJson(const VersionMetadata& m) {
  std::string out;
  JsonWriter j(out);
  j.BeginObject();
  j.Key("name").String(m.name);
  j.Key("version").Int(m.version.value());
  j.Key("format").String(ModelFormatName(m.format));
  j.Key("model_file").String(m.model_file);
  j.Key("task").String(TaskName(m.task));
  j.Key("output").String(OutputKindName(m.output));
  j.Key("objective").String(m.objective);
  j.Key("num_outputs").Uint(m.num_outputs);
  WriteStrings(j, "feature_names", m.feature_names);
  WriteStrings(j, "categorical_features", m.categorical_features);
  WriteStrings(j, "hashed_fields", m.hashed_fields);
  j.Key("content_hash").String(m.content_hash);
  j.Key("created_at").String(FormatIso8601(EventTime::FromMicros(m.created_at.micros())));
  j.Key("lineage").BeginObject();
  j.Key("source").String(m.lineage.source);
  j.Key("data_from");
  if (m.lineage.data_from) {
    j.String(FormatIso8601(*m.lineage.data_from));
  } else {
    j.Null();
  }
  j.Key("data_to");
  if (m.lineage.data_to) {
    j.String(FormatIso8601(*m.lineage.data_to));
  } else {
    j.Null();
  }
  j.Key("parameters").BeginObject();
  for (const auto& [k, v] : m.lineage.parameters) j.Key(k).String(v);
  j.EndObject();
  j.Key("metrics").BeginObject();
  for (const auto& [k, v] : m.lineage.metrics) j.Key(k).Double(v);
  j.EndObject();
  j.Key("parent_version");
  if (m.lineage.parent.value() != 0) {
    j.Int(m.lineage.parent.value());
  } else {
    j.Null();
  }
  j.EndObject();
  j.EndObject();
  out.push_back('\n');
  return out;
}

Result<VersionMetadata> VersionMetadataFromJson(std::string_view json, std::string_view source) {
  try {
    auto r = MetadataFromJson(json);
    if (!r.ok()) return r.status().WithContext(source);
    return r;
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted(StrCat(source, ": out of memory"));
  }
}

Result<ModelRegistry> ModelRegistry::Open(std::string root, Clock& clock) {
  if (root.empty()) return Status::InvalidArgument("the registry root is empty");
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return Status::IoError(StrCat("cannot create registry ", root, ": ", ec.message()));
  if (!fs::is_directory(root, ec)) {
    return Status::InvalidArgument(StrCat("registry root ", root, " is not a directory"));
  }
  return ModelRegistry(std::move(root), clock);
}

Status ModelRegistry::ValidateName(std::string_view name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') {
    return Status::InvalidArgument(
        StrCat("model name ", Quote(name), " must be 1-128 characters and not start with '.'"));
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) {
      return Status::InvalidArgument(
          StrCat("model name ", Quote(name), " may only use letters, digits, '_', '-' and '.'"));
    }
  }
  return Status::OK();
}

std::string ModelRegistry::ModelDir(std::string_view name) const {
  return StrCat(root_, "/", name);
}

std::string ModelRegistry::VersionDir(std::string_view name, ModelVersion version) const {
  return StrCat(root_, "/", name, "/", version.value());
}

Result<VersionMetadata> ModelRegistry::Register(std::string_view name, std::string_view model_bytes,
                                                ModelFormat format, const Lineage& lineage) {
  EDDY_RETURN_IF_ERROR(ValidateName(name));
  auto model = ParseModel(model_bytes, format, name);
  if (!model.ok()) return model.status().WithContext("cannot register");
  const ModelInfo& info = (*model)->info();

  const std::string dir = ModelDir(name);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IoError(StrCat("cannot create ", dir, ": ", ec.message()));
  EDDY_ASSIGN_OR_RETURN(auto lock, ModelLock::Acquire(dir));
  EDDY_ASSIGN_OR_RETURN(std::vector<int64_t> versions, VersionNumbers(dir));

  VersionMetadata m;
  m.name = std::string(name);
  m.version = ModelVersion(versions.empty() ? 1 : versions.back() + 1);
  m.format = format;
  m.model_file = std::string(ModelFileName(format));
  m.task = info.task;
  m.output = info.output;
  m.objective = info.objective;
  m.num_outputs = info.num_outputs;
  m.feature_names = info.feature_names;
  for (size_t i = 0; i < info.feature_names.size(); ++i) {
    if (i < info.categorical.size() && info.categorical[i]) {
      m.categorical_features.push_back(info.feature_names[i]);
    }
  }
  m.hashed_fields = info.hashed_fields;
  m.content_hash = ContentHash(model_bytes);
  m.created_at = clock_->Now();
  m.lineage = lineage;

  // Assemble in a temporary directory, then rename into place: a version
  // directory is complete or absent.
  const std::string tmp = StrCat(dir, "/", TempName(".tmp-"));
  if (::mkdir(tmp.c_str(), 0755) != 0) return Errno("cannot create", tmp);
  auto cleanup = [&] { fs::remove_all(tmp, ec); };
  Status s = WriteNewFile(StrCat(tmp, "/", m.model_file), model_bytes, 0444);
  if (s.ok()) s = WriteNewFile(StrCat(tmp, "/", kMetadataFile), VersionMetadataToJson(m), 0444);
  if (s.ok()) s = SyncDir(tmp);
  if (!s.ok()) {
    cleanup();
    return s;
  }
  const std::string final_dir = VersionDir(name, m.version);
  if (::rename(tmp.c_str(), final_dir.c_str()) != 0) {
    Status e = Errno("cannot rename version into", final_dir);
    cleanup();
    return e;
  }
  EDDY_RETURN_IF_ERROR(SyncDir(dir));
  return m;
}

Result<VersionMetadata> ModelRegistry::RegisterFile(std::string_view name, const std::string& path,
                                                    std::optional<ModelFormat> format,
                                                    const Lineage& lineage) {
  EDDY_ASSIGN_OR_RETURN(std::string bytes, ReadFileBytes(path));
  if (!format) {
    auto detected = DetectModelFormat(bytes);
    if (!detected.ok()) return detected.status().WithContext(path);
    format = *detected;
  }
  return Register(name, bytes, *format, lineage);
}

Result<std::vector<std::string>> ModelRegistry::ListModels() const {
  std::vector<std::string> out;
  std::error_code ec;
  fs::directory_iterator it(root_, ec);
  if (ec) return Status::IoError(StrCat("cannot list ", root_, ": ", ec.message()));
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return Status::IoError(StrCat("cannot list ", root_, ": ", ec.message()));
    std::error_code dir_ec;
    const std::string name = it->path().filename().string();
    if (it->is_directory(dir_ec) && ValidateName(name).ok()) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<VersionMetadata>> ModelRegistry::ListVersions(std::string_view name) const {
  EDDY_RETURN_IF_ERROR(ValidateName(name));
  std::error_code ec;
  if (!fs::is_directory(ModelDir(name), ec)) {
    return Status::NotFound(StrCat("no model named ", Quote(name), " in ", root_));
  }
  EDDY_ASSIGN_OR_RETURN(std::vector<int64_t> versions, VersionNumbers(ModelDir(name)));
  std::vector<VersionMetadata> out;
  for (int64_t v : versions) {
    EDDY_ASSIGN_OR_RETURN(VersionMetadata m, Show(name, ModelVersion(v)));
    out.push_back(std::move(m));
  }
  return out;
}

Result<VersionMetadata> ModelRegistry::Show(std::string_view name, ModelVersion version) const {
  EDDY_RETURN_IF_ERROR(ValidateName(name));
  const std::string path = StrCat(VersionDir(name, version), "/", kMetadataFile);
  auto bytes = ReadFileBytes(path);
  if (!bytes.ok()) {
    if (bytes.status().code() == StatusCode::kNotFound) {
      return Status::NotFound(StrCat("model ", Quote(name), " has no version ", version.value()));
    }
    return bytes.status();
  }
  EDDY_ASSIGN_OR_RETURN(VersionMetadata m, VersionMetadataFromJson(*bytes, path));
  if (m.name != name || m.version != version) {
    return Status::Corruption(
        StrCat(path, ": describes ", Quote(m.name), " version ", m.version.value()));
  }
  return m;
}

Result<ModelVersion> ModelRegistry::LiveVersion(std::string_view name) const {
  EDDY_RETURN_IF_ERROR(ValidateName(name));
  const std::string path = StrCat(ModelDir(name), "/", kLiveFile);
  auto bytes = ReadFileBytes(path);
  if (!bytes.ok()) {
    if (bytes.status().code() == StatusCode::kNotFound) {
      return Status::NotFound(StrCat("model ", Quote(name), " has no live version"));
    }
    return bytes.status();
  }
  auto v = ParseVersionName(Trim(*bytes));
  if (!v) return Status::Corruption(StrCat(path, ": ", Quote(*bytes), " is not a version"));
  return ModelVersion(*v);
}

Result<std::vector<LiveChange>> ModelRegistry::History(std::string_view name) const {
  EDDY_RETURN_IF_ERROR(ValidateName(name));
  const std::string path = StrCat(ModelDir(name), "/", kHistoryFile);
  std::vector<LiveChange> out;
  auto bytes = ReadFileBytes(path);
  if (!bytes.ok()) {
    if (bytes.status().code() == StatusCode::kNotFound) return out;
    return bytes.status();
  }
  std::string_view rest = *bytes;
  size_t line_no = 0;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    ++line_no;
    if (Trim(line).empty()) continue;
    auto parsed = model_internal::ParseJson(line);
    // A line cut short by a crash while appending is skipped.
    if (!parsed.ok() || !parsed->is_object()) continue;
    LiveChange c;
    auto at = GetString(*parsed, "at");
    auto action = GetString(*parsed, "action");
    auto version = GetInt(*parsed, "version", 1, kMaxVersion);
    auto previous = GetInt(*parsed, "previous", 0, kMaxVersion);
    if (!at.ok() || !action.ok() || !version.ok() || !previous.ok()) {
      return Status::Corruption(StrCat(path, " line ", line_no, ": missing fields"));
    }
    auto t = ParseIso8601(*at);
    if (!t.ok()) return t.status().WithContext(StrCat(path, " line ", line_no));
    c.at = ProcessingTime::FromMicros(t->micros());
    c.action = *action;
    c.version = ModelVersion(*version);
    c.previous = ModelVersion(*previous);
    out.push_back(std::move(c));
  }
  return out;
}

Status ModelRegistry::SetLive(std::string_view name, ModelVersion version,
                              std::string_view action) {
  const std::string dir = ModelDir(name);
  ModelVersion previous;
  if (auto live = LiveVersion(name); live.ok()) previous = *live;
  const std::string tmp = StrCat(dir, "/", TempName(".live.tmp-"));
  Status s = WriteNewFile(tmp, StrCat(version.value(), "\n"), 0644);
  if (s.ok() && ::rename(tmp.c_str(), StrCat(dir, "/", kLiveFile).c_str()) != 0) {
    s = Errno("cannot replace", StrCat(dir, "/", kLiveFile));
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  EDDY_RETURN_IF_ERROR(SyncDir(dir));

  std::string line;
  JsonWriter j(line);
  j.BeginObject()
      .Key("at")
      .String(FormatIso8601(EventTime::FromMicros(clock_->Now().micros())))
      .Key("action")
      .String(action)
      .Key("version")
      .Int(version.value())
      .Key("previous")
      .Int(previous.value())
      .EndObject();
  line.push_back('\n');
  const std::string history = StrCat(dir, "/", kHistoryFile);
  Fd fd(::open(history.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (fd.get() < 0) return Errno("cannot open", history);
  EDDY_RETURN_IF_ERROR(WriteAll(fd.get(), line, history));
  if (::fsync(fd.get()) != 0) return Errno("cannot sync", history);
  return Status::OK();
}

Status ModelRegistry::Promote(std::string_view name, ModelVersion version) {
  EDDY_RETURN_IF_ERROR(ValidateName(name));
  EDDY_RETURN_IF_ERROR(Show(name, version).status());
  EDDY_ASSIGN_OR_RETURN(auto lock, ModelLock::Acquire(ModelDir(name)));
  return SetLive(name, version, "promote");
}

Result<ModelVersion> ModelRegistry::Rollback(std::string_view name,
                                             std::optional<ModelVersion> to) {
  EDDY_RETURN_IF_ERROR(ValidateName(name));
  std::error_code ec;
  if (!fs::is_directory(ModelDir(name), ec)) {
    return Status::NotFound(StrCat("no model named ", Quote(name), " in ", root_));
  }
  EDDY_ASSIGN_OR_RETURN(auto lock, ModelLock::Acquire(ModelDir(name)));
  auto live = LiveVersion(name);
  if (!live.ok()) {
    return Status::FailedPrecondition(
        StrCat("cannot roll back model ", Quote(name), ": no version is live"));
  }
  ModelVersion target;
  if (to) {
    if (*to >= *live) {
      return Status::InvalidArgument(StrCat("cannot roll back model ", Quote(name), " to version ",
                                            to->value(), ": it is not older than the live version ",
                                            live->value()));
    }
    target = *to;
  } else {
    // The newest older version that has been live before, else the newest
    // older version.
    EDDY_ASSIGN_OR_RETURN(std::vector<LiveChange> history, History(name));
    for (const LiveChange& c : history) {
      if (c.version < *live && c.version > target) target = c.version;
    }
    if (target.value() == 0) {
      EDDY_ASSIGN_OR_RETURN(std::vector<int64_t> versions, VersionNumbers(ModelDir(name)));
      for (int64_t v : versions) {
        if (ModelVersion(v) < *live) target = ModelVersion(v);
      }
    }
    if (target.value() == 0) {
      return Status::FailedPrecondition(StrCat("cannot roll back model ", Quote(name),
                                               ": no version is older than the live version ",
                                               live->value()));
    }
  }
  EDDY_RETURN_IF_ERROR(Show(name, target).status());
  EDDY_RETURN_IF_ERROR(SetLive(name, target, "rollback"));
  return target;
}

Result<std::unique_ptr<Model>> ModelRegistry::Load(std::string_view name,
                                                   ModelVersion version) const {
  EDDY_ASSIGN_OR_RETURN(VersionMetadata m, Show(name, version));
  const std::string path = StrCat(VersionDir(name, version), "/", m.model_file);
  EDDY_ASSIGN_OR_RETURN(std::string bytes, ReadFileBytes(path));
  if (ContentHash(bytes) != m.content_hash) {
    return Status::Corruption(StrCat(path, ": content hash ", ContentHash(bytes),
                                     " does not match metadata.json (", m.content_hash,
                                     "); the version was modified"));
  }
  return ParseModel(bytes, m.format, path);
}

}  // namespace eddy
