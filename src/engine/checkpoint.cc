#include "engine/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/coding.h"
#include "base/strings.h"

namespace eddy {
namespace fs = std::filesystem;

namespace {

constexpr int kFormatVersion = 1;
constexpr std::string_view kMagic = "eddy-checkpoint";

std::string CheckpointName(uint64_t seq) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "ckpt-%010llu", static_cast<unsigned long long>(seq));
  return buf;
}

Status WriteFileSynced(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError(StrCat("cannot create ", path, ": ", std::strerror(errno)));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Status::IoError(StrCat("writing ", path, ": ", std::strerror(errno)));
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status s = Status::IoError(StrCat("syncing ", path, ": ", std::strerror(errno)));
    ::close(fd);
    return s;
  }
  ::close(fd);
  return Status::OK();
}

void SyncDir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(StrCat("missing ", fs::path(path).filename().string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Sequence numbers of complete checkpoints in `dir`, newest first.
std::vector<uint64_t> ListCheckpoints(const std::string& dir) {
  std::vector<uint64_t> seqs;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind("ckpt-", 0) != 0 || name.size() != 15 || !e.is_directory()) continue;
    uint64_t seq = 0;
    bool digits = true;
    for (char c : name.substr(5)) {
      if (c < '0' || c > '9') digits = false;
      seq = seq * 10 + static_cast<uint64_t>(c - '0');
    }
    if (digits) seqs.push_back(seq);
  }
  std::sort(seqs.rbegin(), seqs.rend());
  return seqs;
}

}  // namespace

const std::string* CheckpointState::Find(std::string_view name) const {
  auto it = sections_.find(name);
  return it == sections_.end() ? nullptr : &it->second;
}

std::string CheckpointState::Encode() const {
  std::string out;
  PutVarint64(out, sections_.size());
  for (const auto& [name, bytes] : sections_) {
    PutString(out, name);
    PutString(out, bytes);
  }
  return out;
}

Result<CheckpointState> CheckpointState::Decode(std::string_view bytes) {
  ByteReader r(bytes, "checkpoint state");
  uint64_t n;
  if (!r.Varint64(n)) return r.status();
  CheckpointState s;
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view name, data;
    if (!r.String(name) || !r.String(data)) return r.status();
    s.Put(std::string(name), std::string(data));
  }
  if (!r.at_end()) return Status::Corruption("checkpoint state has trailing bytes");
  return s;
}

CheckpointStore::CheckpointStore(std::string dir, int keep) : dir_(std::move(dir)), keep_(keep) {}

Status CheckpointStore::Write(uint64_t seq, ProcessingTime now, const CheckpointState& state,
                              const std::function<Status(const std::string& dir)>& extra) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec)
    return Status::IoError(StrCat("cannot create checkpoint directory ", dir_, ": ", ec.message()));
  const std::string final_dir = (fs::path(dir_) / CheckpointName(seq)).string();
  const std::string tmp = final_dir + ".tmp";
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return Status::IoError(StrCat("cannot create ", tmp, ": ", ec.message()));

  std::string encoded = state.Encode();
  EDDY_RETURN_IF_ERROR(WriteFileSynced(tmp + "/state.bin", encoded));
  if (extra) EDDY_RETURN_IF_ERROR(extra(tmp));
  std::string manifest = StrCat(kMagic, " ", kFormatVersion, "\nseq ", seq, "\ncreated_at ",
                                FormatIso8601(EventTime::FromMicros(now.micros())), "\nstate_size ",
                                encoded.size(), "\nstate_crc32c ", Crc32c(encoded), "\n");
  EDDY_RETURN_IF_ERROR(WriteFileSynced(tmp + "/MANIFEST", manifest));
  SyncDir(tmp);
  fs::remove_all(final_dir, ec);
  fs::rename(tmp, final_dir, ec);
  if (ec) return Status::IoError(StrCat("cannot seal checkpoint ", final_dir, ": ", ec.message()));
  SyncDir(dir_);

  // Keep the newest `keep_`; remove stray .tmp directories of older attempts.
  std::vector<uint64_t> seqs = ListCheckpoints(dir_);
  for (size_t i = static_cast<size_t>(keep_); i < seqs.size(); ++i) {
    fs::remove_all(fs::path(dir_) / CheckpointName(seqs[i]), ec);
  }
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    std::string name = e.path().filename().string();
    if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp") fs::remove_all(e.path(), ec);
  }
  return Status::OK();
}

Result<std::optional<CheckpointStore::Loaded>> CheckpointStore::LoadLatest(
    const std::function<Status(const Loaded&)>& check) const {
  std::error_code ec;
  if (!fs::exists(dir_, ec)) return std::optional<Loaded>();
  std::vector<std::string> skipped;
  for (uint64_t seq : ListCheckpoints(dir_)) {
    const std::string d = (fs::path(dir_) / CheckpointName(seq)).string();
    auto fail = [&](std::string_view why) {
      skipped.push_back(StrCat(CheckpointName(seq), ": ", why));
    };
    auto manifest = ReadWholeFile(d + "/MANIFEST");
    if (!manifest.ok()) {
      fail(manifest.status().message());
      continue;
    }
    std::istringstream in(*manifest);
    std::string magic, key;
    int version = 0;
    uint64_t mseq = 0, size = 0, crc = 0;
    std::string created;
    in >> magic >> version >> key >> mseq >> key >> created >> key >> size >> key >> crc;
    if (!in || magic != kMagic) {
      fail("MANIFEST is truncated or not a checkpoint manifest");
      continue;
    }
    if (version != kFormatVersion) {
      fail(StrCat("format version ", version, " (this Eddy reads ", kFormatVersion, ")"));
      continue;
    }
    if (mseq != seq) {
      fail(StrCat("MANIFEST names checkpoint ", mseq));
      continue;
    }
    auto state = ReadWholeFile(d + "/state.bin");
    if (!state.ok()) {
      fail(state.status().message());
      continue;
    }
    if (state->size() != size) {
      fail(StrCat("state.bin has ", state->size(), " bytes, MANIFEST says ", size));
      continue;
    }
    if (Crc32c(*state) != crc) {
      fail("state.bin checksum mismatch");
      continue;
    }
    auto decoded = CheckpointState::Decode(*state);
    if (!decoded.ok()) {
      fail(decoded.status().message());
      continue;
    }
    Loaded l;
    l.seq = seq;
    l.created_at = created;
    l.dir = d;
    l.state = std::move(decoded).value();
    if (check) {
      if (Status c = check(l); !c.ok()) {
        fail(c.message());
        continue;
      }
    }
    l.skipped = std::move(skipped);
    return std::optional<Loaded>(std::move(l));
  }
  if (!skipped.empty()) {
    return Status::Corruption(
        StrCat("no usable checkpoint in ", dir_, ": ", StrJoin(skipped, "; "),
               ". Nothing was changed; to start over from the beginning of the inputs, run "
               "with --fresh (this discards the checkpoints, the history and the online store)"));
  }
  return std::optional<Loaded>();
}

Status CheckpointStore::Clear() const {
  std::error_code ec;
  fs::remove_all(dir_, ec);
  if (ec) return Status::IoError(StrCat("cannot remove ", dir_, ": ", ec.message()));
  return Status::OK();
}

}  // namespace eddy
