// Protected regions, grouped by name (VeloC's named regions). Plain data; the
// engine owns one RegionTable and consults it at checkpoint and restart time.
#pragma once

#include <map>
#include <string>

#include "client/client.h"

namespace cairn {

struct Region {
  void* ptr = nullptr;  // raw region (nullptr for serialized ones)
  size_t size = 0;      // bytes (count * base_size)
  Serializer ser;
  Deserializer deser;
  bool serialized() const { return ptr == nullptr; }
};

inline constexpr const char* kDefaultGroup = "default";

class RegionTable {
 public:
  using Group = std::map<int, Region>;
  // "" means the default group.
  void Put(const std::string& group, int id, Region r) { groups_[Key(group)][id] = std::move(r); }
  bool Erase(const std::string& group, int id) {
    auto it = groups_.find(Key(group));
    return it != groups_.end() && it->second.erase(id) > 0;
  }
  void ClearGroup(const std::string& group) { groups_.erase(Key(group)); }
  void ClearAll() { groups_.clear(); }
  // The group a checkpoint named `name` uses: the group of that name if it has
  // regions, else the default group (possibly empty).
  const Group& ForCheckpoint(const std::string& name) const {
    auto it = groups_.find(name);
    if (it != groups_.end() && !it->second.empty()) return it->second;
    auto d = groups_.find(kDefaultGroup);
    static const Group kEmpty;
    return d == groups_.end() ? kEmpty : d->second;
  }

 private:
  static std::string Key(const std::string& g) { return g.empty() ? kDefaultGroup : g; }
  std::map<std::string, Group> groups_;
};

}  // namespace cairn
