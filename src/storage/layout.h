// Layout: where a level (scratch or persistent) keeps each checkpoint. Pure path
// arithmetic, no I/O. Every name has been checked by ValidateName() before it gets
// here, so paths always stay below the level's root.
//
//   <root>/<name>/v<version>/r<rank>.ckpt          committed rank file
//   <root>/<name>/v<version>/r<rank>.ckpt.tmp      being written (never read)
//   <root>/<name>/v<version>/r<rank>.f<k>          k-th routed file of that rank
//   <root>/<name>/v<version>/r<rank>.f<k>.tmp      routed file being written
//   <root>/<name>/v<version>/COMMIT                commit record (collective mode)
#pragma once

#include <optional>
#include <string>

namespace cairn {

inline constexpr const char* kTmpSuffix = ".tmp";
inline constexpr const char* kCommitRecordName = "COMMIT";

class Layout {
 public:
  explicit Layout(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }
  std::string NameDir(const std::string& name) const;
  std::string VersionDir(const std::string& name, long long version) const;
  std::string RankFile(const std::string& name, long long version, int rank) const;
  std::string RoutedFile(const std::string& name, long long version, int rank, int k) const;
  std::string CommitRecord(const std::string& name, long long version) const;

  static std::string VersionDirName(long long version);
  static std::string RankFileName(int rank);
  static std::string RoutedFileName(int rank, int k);
  // "v12" -> 12; anything else -> nullopt.
  static std::optional<long long> ParseVersionDir(const std::string& dirname);
  // "r3.ckpt" -> 3; anything else (including .tmp) -> nullopt.
  static std::optional<int> ParseRankFile(const std::string& filename);
  // True for the file names of rank `rank` (rank file, routed files, and their .tmp).
  static bool BelongsToRank(const std::string& filename, int rank);
  static bool IsTemporary(const std::string& filename);

 private:
  std::string root_;
};

}  // namespace cairn
