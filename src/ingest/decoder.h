// Decoders turn the bytes of one record into a Row of typed values in schema
// order. They convert and type-check (a string where an int is declared is an
// error); the Schema then applies value rules (required, ranges, allowed).
//
// One decoder exists per partition of a source, so a format with per-file
// state (the CSV header) keeps it per partition. A decoder is used by one
// thread at a time.
//
// Input contract: the bytes passed to Decode() are followed in memory by at
// least kRecordPadding readable bytes (their content is irrelevant). Sources
// guarantee this; it lets the JSON decoder run simdjson without copying.

#ifndef EDDY_INGEST_DECODER_H_
#define EDDY_INGEST_DECODER_H_

#include <memory>
#include <string_view>

#include "base/value.h"
#include "config/pipeline.h"
#include "ingest/schema.h"

namespace eddy {

inline constexpr size_t kRecordPadding = 64;

class Decoder {
 public:
  virtual ~Decoder() = default;

  // Decodes one record into `row` (reset to the schema's width). Returns false
  // and fills `err` if the bytes are malformed or a value has the wrong type.
  virtual bool Decode(std::string_view bytes, Row& row, DecodeError& err) = 0;

  // True for formats whose first record in each partition is a header.
  virtual bool has_header() const { return false; }

  // Consumes the header record. Returns false and fills `err` if the header
  // is unusable; later records of the partition then fail with that reason.
  virtual bool ReadHeader(std::string_view bytes, DecodeError& err) { return true; }

  // The header record could not be read at all (it was too large); later
  // records of the partition fail with `err`'s reason.
  virtual void RejectHeader(const DecodeError& err) {}

  // Per-partition state for checkpoints (the CSV header); none by default.
  virtual void SaveState(std::string& out) const {}
  virtual Status RestoreState(std::string_view bytes) { return Status::OK(); }
};

// Fails if this CPU lacks the instructions the JSON decoder was compiled
// for (see EDDY_SIMD in CMakeLists.txt). Checked before any decoding.
Status CheckJsonSupport();
// The simdjson implementation compiled in ("haswell", "westmere", "fallback").
std::string_view JsonImplementationName();

// A decoder for `spec.format`. `schema` must outlive it.
std::unique_ptr<Decoder> MakeDecoder(const SourceSpec& spec, const Schema& schema);
std::unique_ptr<Decoder> MakeJsonDecoder(const Schema& schema);
std::unique_ptr<Decoder> MakeCsvDecoder(const Schema& schema, const CsvSpec& csv);

}  // namespace eddy

#endif  // EDDY_INGEST_DECODER_H_
