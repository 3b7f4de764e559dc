// Catalog: what one level directory holds, for tools (cairn ls / verify) and tests.
//
// ScanDirectory() walks <root>/<name>/v<version>/ (storage/layout.h) and describes each
// version: its rank files (opened with CheckpointFileReader::Open, which checks header,
// table and footer but does not hash the data), routed files, leftover "*.tmp" files and
// the commit record. It never modifies anything and never hashes data. Entries that do
// not fit the layout (names that fail ValidateName, non-"v<N>" directories, unknown
// files) are ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "env/env.h"
#include "storage/level.h"

namespace cairn {

enum class VersionState {
  kCommitted,   // every rank file present and sound; a commit record, if any, agrees
  kPartial,     // some rank files missing
  kIncomplete,  // no rank file at all (only temporary files, or nothing)
  kDamaged,     // a rank file or the commit record does not open or does not agree
};
// "committed", "partial", "incomplete", "damaged".
const char* VersionStateName(VersionState s);

struct CatalogRankFile {
  int rank = 0;
  std::string path;
  uint64_t size = 0;
  // Open() succeeded and the header agrees with the file's place (name, version, rank,
  // nranks, commit record). When false, `problem` says why.
  bool ok = false;
  std::string problem;
  bool opened = false;     // Open() succeeded (header fields below are valid)
  int nranks = 0;          // from the header
  uint64_t file_hash = 0;  // from the footer
};

// A routed file (r<rank>.f<k>) or a temporary file (*.tmp).
struct CatalogFile {
  std::string name;  // file name inside the version directory
  std::string path;
  uint64_t size = 0;
};

struct CatalogVersion {
  long long version = 0;
  std::string dir;
  VersionState state = VersionState::kIncomplete;
  std::string reason;  // why the state is not kCommitted (empty when committed)
  // Number of ranks from the rank file headers (the commit record's when no header
  // opened); 0 when unknown.
  int nranks = 0;
  std::vector<CatalogRankFile> ranks;    // sorted by rank
  std::vector<int> missing_ranks;        // ranks in [0, nranks) without a rank file
  std::vector<CatalogFile> routed;       // sorted by name
  std::vector<CatalogFile> temporaries;  // sorted by name
  bool has_commit = false;               // a COMMIT file exists
  std::optional<CommitRecord> commit;    // parsed commit record
  std::string commit_problem;            // non-empty: COMMIT unreadable or inconsistent
  uint64_t commit_size = 0;

  // Bytes of rank and routed files (the checkpoint's data).
  uint64_t DataBytes() const;
  // Bytes of temporary files.
  uint64_t TemporaryBytes() const;
};

struct CatalogCheckpoint {
  std::string name;
  std::string dir;
  std::vector<CatalogVersion> versions;  // ascending
};

struct Catalog {
  std::string root;
  std::vector<CatalogCheckpoint> checkpoints;  // sorted by name; only names with versions
  // Directories inside the tree that could not be listed (the scan goes on without them).
  std::vector<Status> warnings;
};

// Scans one level directory. Fails (kNotFound, kIOError) only when `root` itself cannot
// be listed or is not a directory.
Result<Catalog> ScanDirectory(Env* env, const std::string& root);

// Describes the version directory `dir` of checkpoint `name` (as ScanDirectory does for
// each version). Fails only when `dir` cannot be listed.
Result<CatalogVersion> ScanVersion(Env* env, const std::string& name, long long version,
                                   const std::string& dir);

// "r3.f12" -> {3, 12}; anything else (including .tmp names) -> nullopt.
struct RoutedFileId {
  int rank = 0;
  int k = 0;
};
std::optional<RoutedFileId> ParseRoutedFile(const std::string& filename);

}  // namespace cairn
