#include "common/hash.h"

#include <xxhash.h>

namespace cairn {

uint64_t Hash64(const void* data, size_t len) { return XXH3_64bits(data, len); }

struct Hasher::Impl {
  XXH3_state_t* st = XXH3_createState();
  ~Impl() { XXH3_freeState(st); }
};

Hasher::Hasher() : impl_(std::make_unique<Impl>()) { XXH3_64bits_reset(impl_->st); }
Hasher::~Hasher() = default;
void Hasher::Update(const void* data, size_t len) { XXH3_64bits_update(impl_->st, data, len); }
uint64_t Hasher::Digest() const { return XXH3_64bits_digest(impl_->st); }
void Hasher::Reset() { XXH3_64bits_reset(impl_->st); }

}  // namespace cairn
