// Checkpoints: all state of a running pipeline together with the source
// offsets it corresponds to, written atomically, so that a restart resumes
// exactly where the checkpoint was taken (docs/formats/checkpoint.md,
// version 1).
//
// Layout under the checkpoints directory:
//   ckpt-0000000042/            one complete checkpoint (sequence 42)
//     MANIFEST                  format version, sequence, time, and the size
//                               and CRC-32C of state.bin
//     state.bin                 named sections (engine, sources, features...)
//     online/                   a copy of the online store (when it has one)
//   ckpt-0000000043.tmp/        a checkpoint being written (ignored, removed)
//
// A checkpoint is written into a .tmp directory, synced, and renamed: a crash
// leaves either the old set or the new one. Loading takes the newest
// checkpoint whose MANIFEST and state.bin check out; one that is truncated or
// corrupt is skipped with a reason (never a crash) and the previous one is
// used.
//
// One thread uses a CheckpointStore.

#ifndef EDDY_ENGINE_CHECKPOINT_H_
#define EDDY_ENGINE_CHECKPOINT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.h"
#include "eddy/status.h"

namespace eddy {

// Named binary sections of a checkpoint.
class CheckpointState {
 public:
  void Put(std::string name, std::string bytes) { sections_[std::move(name)] = std::move(bytes); }
  // The section, or nullptr.
  const std::string* Find(std::string_view name) const;
  std::string Encode() const;
  static Result<CheckpointState> Decode(std::string_view bytes);
  const std::map<std::string, std::string, std::less<>>& sections() const { return sections_; }

 private:
  std::map<std::string, std::string, std::less<>> sections_;
};

class CheckpointStore {
 public:
  // `dir` is created when the first checkpoint is written.
  CheckpointStore(std::string dir, int keep);

  // Writes checkpoint `seq`. `extra(tmp_dir)` may add files (the online store
  // copy) before the checkpoint is sealed. Older checkpoints beyond `keep`
  // are deleted afterwards.
  Status Write(uint64_t seq, ProcessingTime now, const CheckpointState& state,
               const std::function<Status(const std::string& dir)>& extra);

  struct Loaded {
    uint64_t seq = 0;
    std::string created_at;  // ISO-8601, processing time, from the MANIFEST
    std::string dir;         // the checkpoint's directory
    CheckpointState state;
    // Newer checkpoints that could not be used, as "ckpt-...: reason".
    std::vector<std::string> skipped;
  };
  // The newest valid checkpoint, or nullopt when there is none (then
  // `skipped` of the result would be lost: they are returned via the status
  // only when no checkpoint at all is usable and some exist). `check`, when
  // given, vets a checkpoint whose own files check out (e.g. that the online
  // store copy it names exists); one it rejects is skipped with its reason.
  Result<std::optional<Loaded>> LoadLatest(
      const std::function<Status(const Loaded&)>& check = nullptr) const;

  // Removes every checkpoint (eddy run --fresh).
  Status Clear() const;

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  int keep_;
};

}  // namespace eddy

#endif  // EDDY_ENGINE_CHECKPOINT_H_
