// Configuration: VeloC's INI-style file (no sections, "key = value", '#' or ';'
// comments) plus environment overrides.
//
// Precedence, highest first: CAIRN_<KEY>, VELOC_<KEY>, the file, defaults. <KEY> is the
// key upper-cased (CAIRN_SCRATCH, VELOC_PERSISTENT_INTERVAL, ...); an empty variable
// counts as unset. Unknown keys in the file produce a warning (log) and are otherwise
// ignored; `axl_type` is accepted and ignored with a warning. A bad value (not a number,
// negative where not allowed, unknown mode, relative or empty directory) makes Load()
// return kInvalidArgument with a message that names the key, the value and its source
// (file:line or environment variable). Load() has no side effects on the file system:
// directories are created and checked later by the storage layer.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace cairn {

enum class Mode { kSync, kAsync };

struct Config {
  // --- VeloC keys ---
  std::string scratch;     // node-local directory (required)
  std::string persistent;  // shared directory; empty: no persistent level
  Mode mode = Mode::kSync;
  long long persistent_interval = 0;  // seconds between persistent copies; 0 every ckpt; <0 never
  long long ec_interval = 0;  // seconds between L2 (redundancy) encodings; 0 every ckpt; <0 never
  int max_versions = 0;               // versions kept on persistent; 0 = all
  int scratch_versions = 0;           // versions kept on scratch; 0 = all
  bool chksum = true;                 // compute and verify checksums
  std::string meta;                   // metadata directory (optional)
  std::string failure_domain;         // default: host name
  long long watchdog_interval = 0;    // seconds; accepted for compatibility
  // --- cairn keys (later levels use these; parsed and validated here) ---
  std::string ec_scheme = "none";  // none|partner|xor|rs
  int ec_set_size = 8;
  int ec_parity = 2;
  std::string compress = "none";  // none|zstd|lz4 (async pipeline)
  bool shuffle = true;            // byte shuffle before compression
  bool scratch_fsync = true;
  std::string scratch_compress = "none";  // none|zstd|lz4 for the scratch level (async)
  // Async backend: worker threads (bounded parallelism, lowered priority) and seconds
  // of idleness (no client, no work) after which it exits.
  int backend_workers = 2;
  int backend_idle_timeout = 30;
  // MB/s the backend may write in total (0: unlimited): bounds a flush's interference
  // with the application's compute at the price of a longer flush.
  int backend_max_bandwidth = 0;
  // Heterogeneous scratch: `scratch` is the fast tier, holding at most
  // scratch_capacity bytes (0: unlimited); scratch_spill lists slower node-local
  // directories, in order, that checkpoints spill to when the fast tier is full.
  uint64_t scratch_capacity = 0;
  std::vector<std::string> scratch_spill;
  // Per-level intervals in checkpoints (SCR style): when either is > 0, checkpoint
  // number c goes to L3 if persistent_every divides c, else to L2 if ec_every divides
  // c, else to L1 only (the highest level due wins; the time-based intervals are then
  // not used).
  int ec_every = 0;
  int persistent_every = 0;
  // When the application should checkpoint (cairn_need_checkpoint, client/checkpoint_policy.h):
  // seconds between checkpoints (0: off); the mean time between failures for Daly's optimum
  // interval (0: off); seconds added to the measured checkpoint cost when the job's end
  // time (CAIRN_JOB_END_TIME / SLURM_JOB_END_TIME) approaches.
  long long checkpoint_interval = 0;
  long long mtbf = 0;
  long long job_end_margin = 10;

  // Where each value came from, for messages ("file.cfg:3", "CAIRN_SCRATCH", "default").
  std::vector<std::pair<std::string, std::string>> sources;
};

// Parses `path` (may be empty or null-equivalent "": environment only) and applies the
// environment. A path that is given but cannot be read is an error.
Result<Config> LoadConfig(const std::string& path);

// Parses configuration text (for tests and for `cairn` tools); `origin` names it in
// messages. Environment overrides are applied only when `apply_env` is true.
Result<Config> ParseConfig(const std::string& text, const std::string& origin, bool apply_env);

// Parses a size: a whole number with an optional K, M, G or T suffix (powers of 1024,
// an optional trailing B). nullopt when malformed or too large.
std::optional<uint64_t> ParseSize(const std::string& text);

// Parses a boolean as VeloC does: true/false, yes/no, on/off, 1/0 (case-insensitive).
std::optional<bool> ParseBool(const std::string& v);

// A multi-line dump, one "key = value  (source)" line per key (source as in
// Config::sources, or "default"), for `cairn` tools and debug logs.
// The resolved configuration as "key = value" lines that ParseConfig reads back to the
// same values (the async backend is started with it).
std::string SerializeConfig(const Config& c);

std::string DescribeConfig(const Config& c);

}  // namespace cairn
