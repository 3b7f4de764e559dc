// cairn_bench_l2: the cost of L2 redundancy in a checkpoint. An MPI job (run it with
// bench/run_l2_bench.sh: 8 ranks on 4 simulated nodes, each node its own scratch and
// failure domain) checkpoints --size-mib MiB per rank with L1 only, then with partner,
// XOR and Reed-Solomon (k = 2) L2, and reports the best checkpoint time of each against
// L1 only, measured in the same run. Rank 0 prints the table and writes JSON.
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "cairn/cairn.h"

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  size_t mib = 64;
  int reps = 3;
  std::string json = "bench_l2.json";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--size-mib") mib = std::stoul(argv[i + 1]);
    if (a == "--reps") reps = std::stoi(argv[i + 1]);
    if (a == "--json") json = argv[i + 1];
  }
  const char* scratch = std::getenv("CAIRN_SCRATCH");
  if (scratch == nullptr) {
    if (rank == 0) std::fprintf(stderr, "run me through bench/run_l2_bench.sh\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  std::vector<char> data(mib << 20);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 131 + rank) >> 3);
  struct Row {
    std::string scheme;
    double best = 1e9;
  };
  std::vector<Row> rows{{"none"}, {"partner"}, {"xor"}, {"rs"}};
  long long version = 0;
  for (auto& row : rows) {
    std::string cfg = std::string(scratch) + "/../l2bench-" + row.scheme + ".cfg";
    if (rank == 0 || true) {
      std::ofstream(cfg) << "scratch = " << scratch << "\nscratch_versions = 1\n"
                         << "ec_scheme = " << row.scheme << "\nec_parity = 2\n";
    }
    cairn_client_t* c = nullptr;
    if (cairn_open_mpi(MPI_COMM_WORLD, cfg.c_str(), &c) != CAIRN_OK) {
      std::fprintf(stderr, "rank %d: open failed: %s\n", rank, cairn_last_error(nullptr));
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    cairn_protect(c, 0, data.data(), data.size());
    for (int r = 0; r <= reps; ++r) {  // the first one warms up
      data[static_cast<size_t>(r)] ^= 1;
      MPI_Barrier(MPI_COMM_WORLD);
      double t0 = Now();
      if (cairn_checkpoint(c, "bench", ++version) != CAIRN_OK) {
        std::fprintf(stderr, "rank %d: checkpoint failed: %s\n", rank, cairn_last_error(c));
        MPI_Abort(MPI_COMM_WORLD, 1);
      }
      double t = Now() - t0, tmax = 0;
      MPI_Allreduce(&t, &tmax, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
      if (r > 0) row.best = std::min(row.best, tmax);
    }
    cairn_cleanup(c, "bench");
    cairn_close(c, 1);
  }
  if (rank == 0) {
    std::printf("cairn_bench_l2: %d ranks, %zu MiB per rank, best of %d (slowest rank)\n\n", size,
                mib, reps);
    std::printf("%-10s %12s %14s\n", "scheme", "time (s)", "vs L1 only");
    std::ofstream j(json);
    j << "{\n  \"ranks\": " << size << ",\n  \"size_mib\": " << mib << ",\n  \"rows\": [";
    for (size_t i = 0; i < rows.size(); ++i) {
      double ratio = rows[i].best / rows[0].best;
      std::printf("%-10s %12.4f %13.2fx\n", rows[i].scheme.c_str(), rows[i].best, ratio);
      j << (i ? "," : "") << "\n    {\"scheme\": \"" << rows[i].scheme
        << "\", \"seconds\": " << rows[i].best << ", \"vs_l1\": " << ratio << "}";
    }
    j << "\n  ]\n}\n";
    std::printf("\nwrote %s\n", json.c_str());
  }
  MPI_Finalize();
  return 0;
}
