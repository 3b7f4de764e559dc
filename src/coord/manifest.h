// The job manifest: the commit record of one coordinated checkpoint of a whole job. It
// names every participant's image; a job restarts from the newest manifest whose images
// are all present (NewestValid()).
//
// File DIR/job.v<N>.manifest (N = the coordinator's round number = the version), mode
// 0600, written atomically (DIR/job.v<N>.manifest.tmp, fdatasync, rename, fsync DIR).
// Text, one "key value" per line, in this order:
//   cairn-job-manifest 1
//   version N
//   kind KIND                        e.g. "mpi" (given by the writer; no blanks)
//   participants P
//   created <unix seconds>
//   image <rank> <bytes> <hash> <path>   one per rank 0..P-1, ascending; path relative
//                                        to DIR when the image is inside DIR, else
//                                        absolute (the rest of the line; may hold blanks)
//   process <rank> <pid> <ppid> <pgid> <sid>   optional, at most one per rank, after the
//                                        image lines (kind "tree": where each process sat
//                                        in the tree; pids as the processes saw them)
//   exited <rank> <pid> <wait-status>    optional, after the process lines: a child of that
//                                        rank's process that had exited, not yet reaped
//   checksum <16 lowercase hex of XXH3-64 of every preceding byte>
// Readers refuse (kCorruption, naming the file) a bad checksum, an unknown format
// number, a `version` that differs from the file name's N, missing or duplicate ranks,
// and anything else that does not parse.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "env/env.h"
#include "transparent/naming.h"

namespace cairn::coord {

inline constexpr int kManifestFormat = 1;
inline constexpr const char* kImageSuffix = transparent::naming::kImageSuffix;  // Prune()'s files

struct ManifestImage {
  int rank = 0;
  uint64_t bytes = 0;
  std::string hash;  // opaque, non-empty, no blanks (the participant's image hash)
  std::string path;  // absolute (ReadManifest resolves relative paths against DIR)
  // kind "tree" (a `process` line; 0 when absent): the process's ids at the checkpoint.
  int pid = 0;
  int ppid = 0;
  int pgid = 0;
  int sid = 0;
  struct Exited {
    int pid = 0;
    int status = 0;  // as waitpid() reports it
  };
  std::vector<Exited> exited;  // children that exited but were not reaped
};

struct Manifest {
  uint64_t version = 0;
  std::string kind = "mpi";
  int participants = 0;
  int64_t created = 0;                // unix seconds; WriteManifest fills 0 with now
  std::vector<ManifestImage> images;  // one per rank, ascending by rank
};

// DIR/job.v<version>.manifest
std::string ManifestPath(const std::string& dir, uint64_t version);
// The version of a file name "job.v<N>.manifest", or 0 if the name is not one.
uint64_t ManifestVersionFromName(const std::string& name);

// The file's text for `m` (images sorted by rank; paths inside `dir` made relative).
// kInvalidArgument if m is not complete and consistent (version 0, participants < 1,
// images not exactly ranks 0..P-1, a blank in kind or hash, a newline anywhere, a
// relative image path).
Result<std::string> EncodeManifest(const std::string& dir, const Manifest& m);
// Parses a manifest's text; `path` names the file in errors, `dir` resolves relative
// image paths.
Result<Manifest> DecodeManifest(const std::string& dir, const std::string& path,
                                const std::string& text);

// Writes DIR/job.v<N>.manifest atomically (replacing one of the same version). Returns
// its path.
Result<std::string> WriteManifest(const std::string& dir, const Manifest& m,
                                  Env* env = Env::Default());
// Reads and validates one manifest file (not its images); DIR is the file's directory.
Result<Manifest> ReadManifest(const std::string& path, Env* env = Env::Default());

// Versions of the manifest files in DIR (by name, "*.tmp" ignored), ascending. A missing
// DIR is an empty list.
Result<std::vector<uint64_t>> ListManifests(const std::string& dir, Env* env = Env::Default());

// Whether every image of `m` exists with exactly the recorded size: kNotFound / kCorruption
// naming the first that does not.
Status CheckImages(const Manifest& m, Env* env = Env::Default());

// The newest manifest that reads AND whose images all exist with exactly the recorded
// size; older ones are tried in turn and each skipped one gets a line in *warnings
// ("job.v5.manifest: ...\n"; warnings may be null). kNotFound if none qualifies.
Result<Manifest> NewestValid(const std::string& dir, std::string* warnings,
                             Env* env = Env::Default());

// Keeps the newest `keep` readable manifests (keep < 1 keeps all) and removes older ones,
// plus unreadable manifests older than the oldest kept one. Then removes each image file
// (*.cimg directly in DIR) that a removed manifest referenced and no kept manifest does.
// Never removes an image referenced by a kept manifest, nor any file no manifest names
// (images of unreadable manifests are unknown, so they stay). Errors removing files are
// reported after trying them all.
Status Prune(const std::string& dir, int keep, Env* env = Env::Default());

}  // namespace cairn::coord
