// The job manifests of a checkpoint directory (coord/manifest.h), as `cairn status --ckpt-dir`
// and `cairn ls` show them: one row per DIR/job.v<N>.manifest, newest first, with whether it is
// complete (it reads, and every image exists with its recorded size) and marking the one
// `cairn restart --mpi` would use; and the job's coordinator (DIR/.cairn/coordinator), asked
// for its STATUS when it answers.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/json.h"

namespace cairn::cli {

struct ManifestRow {
  std::string path;
  uint64_t version = 0;
  std::string kind;
  int ranks = 0;
  uint64_t bytes = 0;     // sum of the images' recorded sizes
  int64_t created = 0;    // unix seconds
  bool complete = false;  // reads, and every image is there with its size
  bool newest = false;    // the one a restart uses
  std::string problem;    // why not complete
};

struct CoordinatorRow {
  bool present = false;  // an address file exists
  std::string address;   // host:port
  std::string job;
  bool answers = false;
  int participants = 0, joined = 0;
  std::string last_result;
};

std::vector<ManifestRow> ReadManifestRows(Env* env, const std::string& dir);
CoordinatorRow ReadCoordinatorRow(Env* env, const std::string& dir);

void PrintManifests(std::ostream& out, const std::vector<ManifestRow>& rows);
void WriteManifestsJson(JsonWriter& w, const std::vector<ManifestRow>& rows);

}  // namespace cairn::cli
