// cairn's own C++ API: a header-only layer over the C API (cairn/cairn.h), so programs
// depend only on the stable C ABI of libcairn.
//
// Nothing here throws (apart from std::bad_alloc when memory runs out), exits or prints.
// Failures are returned as cairn::Error values; functions that also produce a value return
// cairn::Expected<T>.
//
//   auto c = cairn::Client::open_single(rank, "ckpt.cfg");
//   if (!c) { report(c.error().message()); return; }
//   c->protect(0, std::span(data));
//   if (auto v = c->restart_latest("sim")) start = *v + 1;
//   else if (v.error().code() != CAIRN_E_NOT_FOUND) { report(v.error().message()); return; }
//   for (long long step = start; ...; ++step) { ...; c->checkpoint("sim", step); }
//
// Threads: as the C API (a Client may be shared by threads; calls are serialized; one
// thread at a time drives a checkpoint or restart; do not move or destroy a Client while
// another thread uses it).
//
// The classes live in an inline namespace (cairn::v0) so that they never collide with
// names inside the library; write them as cairn::Client, cairn::Error, cairn::Expected.
#ifndef CAIRN_CAIRN_HPP
#define CAIRN_CAIRN_HPP

#include <cairn/cairn.h>

#include <cassert>
#include <cstddef>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace cairn {
inline namespace v0 {

// A result without a value: code() == CAIRN_OK on success, else a code and the message of
// the failure (cairn_last_error at the time of the failure).
class Error {
 public:
  Error() = default;
  Error(cairn_status_t code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == CAIRN_OK; }
  cairn_status_t code() const { return code_; }
  const std::string& message() const { return message_; }
  // "OK" or "<status string>: <message>".
  std::string to_string() const {
    if (ok()) return "OK";
    std::string s = cairn_status_string(code_);
    if (!message_.empty()) s += ": " + message_;
    return s;
  }

 private:
  cairn_status_t code_ = CAIRN_OK;
  std::string message_;
};

// Either a T or an Error (whose code is not CAIRN_OK). Test it (has_value() or bool) before
// using value() / operator*: accessing the value of an error is a programming error
// (checked by assert).
template <class T>
class Expected {
 public:
  Expected(T value) : value_(std::move(value)) {}     // NOLINT(runtime/explicit)
  Expected(Error error) : error_(std::move(error)) {  // NOLINT(runtime/explicit)
    if (error_.ok()) error_ = Error(CAIRN_E_INTERNAL, "Expected built from a success Error");
  }

  bool has_value() const { return value_.has_value(); }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return *value_;
  }
  const T& value() const& {
    assert(has_value());
    return *value_;
  }
  T&& value() && {
    assert(has_value());
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T value_or(T other) const& { return has_value() ? *value_ : std::move(other); }

  // The error; Error() (OK) when there is a value.
  const Error& error() const { return error_; }

 private:
  std::optional<T> value_;
  Error error_;
};

// An open cairn client; closes it (waiting for pending work) when destroyed. Move-only.
// A default-constructed or moved-from Client is empty: every call on it returns
// CAIRN_E_INVALID.
class Client {
 public:
  Client() = default;
  ~Client() { (void)close(true); }
  Client(Client&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  Client& operator=(Client&& o) noexcept {
    if (this != &o) {
      (void)close(true);
      c_ = std::exchange(o.c_, nullptr);
    }
    return *this;
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Independent mode as `rank`; cfg "" reads the configuration from the environment.
  static Expected<Client> open_single(unsigned rank, const std::string& cfg) {
    cairn_client_t* c = nullptr;
    cairn_status_t s = cairn_open_single(rank, cfg.c_str(), &c);
    if (s != CAIRN_OK) return Error(s, cairn_last_error(nullptr));
    return Client(c);
  }
#if CAIRN_HAVE_MPI
  // Collective mode over `comm` (every rank calls it; MPI must be initialized).
  static Expected<Client> open_mpi(MPI_Comm comm, const std::string& cfg) {
    cairn_client_t* c = nullptr;
    cairn_status_t s = cairn_open_mpi(comm, cfg.c_str(), &c);
    if (s != CAIRN_OK) return Error(s, cairn_last_error(nullptr));
    return Client(c);
  }
#endif

  // Closes now (drain: wait for pending work first) and reports the result; the Client is
  // empty afterwards. Closing an empty Client is OK.
  Error close(bool drain = true) {
    if (c_ == nullptr) return Error();
    cairn_status_t s = cairn_close(std::exchange(c_, nullptr), drain ? 1 : 0);
    return s == CAIRN_OK ? Error() : Error(s, cairn_last_error(nullptr));
  }

  bool is_open() const { return c_ != nullptr; }
  explicit operator bool() const { return is_open(); }
  int rank() const { return cairn_rank(c_); }
  int size() const { return cairn_size(c_); }
  // The C handle, for calls this class does not wrap. Still owned by this Client.
  cairn_client_t* handle() const { return c_; }

  // Registers the memory of `data` under `id` in `group` ("": the default group).
  template <class T>
  requires(std::is_trivially_copyable_v<T> && !std::is_const_v<T>) Error
      protect(int id, std::span<T> data, const std::string& group = "") {
    return check(cairn_protect_named(c_, group.c_str(), id, static_cast<void*>(data.data()),
                                     data.size_bytes()));
  }
  // Registers one object.
  template <class T>
  requires(std::is_trivially_copyable_v<T> && !std::is_const_v<T>) Error
      protect(int id, T& object, const std::string& group = "") {
    return protect(id, std::span<T>(&object, 1), group);
  }
  Error protect_bytes(int id, void* ptr, size_t bytes, const std::string& group = "") {
    return check(cairn_protect_named(c_, group.c_str(), id, ptr, bytes));
  }
  Error unprotect(int id, const std::string& group = "") {
    return check(cairn_unprotect(c_, group.c_str(), id));
  }
  Error clear(const std::string& group = "") { return check(cairn_clear(c_, group.c_str())); }
  Error clear_all() { return check(cairn_clear_all(c_)); }

  // A complete checkpoint (wait + begin + all regions + end).
  Error checkpoint(const std::string& name, long long version) {
    return check(cairn_checkpoint(c_, name.c_str(), version));
  }
  Error checkpoint_begin(const std::string& name, long long version) {
    return check(cairn_checkpoint_begin(c_, name.c_str(), version));
  }
  Error checkpoint_mem(cairn_select_t sel = CAIRN_SELECT_ALL, const std::set<int>& ids = {}) {
    std::vector<int> v(ids.begin(), ids.end());
    return check(cairn_checkpoint_mem(c_, sel, v.data(), v.size()));
  }
  Error checkpoint_end(bool success) { return check(cairn_checkpoint_end(c_, success ? 1 : 0)); }
  // Waits for pending asynchronous work; the result of everything since the last wait.
  Error wait() { return check(cairn_wait(c_)); }
  // Non-blocking: true when no asynchronous work is pending (false for an empty Client).
  bool finished() { return cairn_finished(c_) == 1; }
  Error cleanup(const std::string& name) { return check(cairn_cleanup(c_, name.c_str())); }

  // Whether a checkpoint should be taken now (cairn_need_checkpoint: interval, Daly,
  // `cairn job`'s request, the job's end time). On failure returns false and, when `error`
  // is given, stores the failure there (else Error() there on success):
  //   if (c.need_checkpoint()) c.checkpoint("sim", step);
  // Collective in MPI mode.
  bool need_checkpoint(Error* error = nullptr) { return flag(cairn_need_checkpoint, error); }
  // True once a final checkpoint is committed: close() and exit with status 0
  // (cairn_should_exit). Errors as for need_checkpoint. Collective in MPI mode.
  bool should_exit(Error* error = nullptr) { return flag(cairn_should_exit, error); }

  // Restores the newest restorable version <= max_version (CAIRN_ANY_VERSION: any), falling
  // back to older versions; returns it. Error CAIRN_E_NOT_FOUND: nothing to restart from.
  Expected<long long> restart_latest(const std::string& name,
                                     long long max_version = CAIRN_ANY_VERSION) {
    long long v = -1;
    Error e = check(cairn_restart_latest(c_, name.c_str(), max_version, &v));
    if (!e.ok()) return e;
    return v;
  }
  // The version restart_latest would try first, without restoring it (cairn_restart_test).
  Expected<long long> restart_test(const std::string& name,
                                   long long max_version = CAIRN_ANY_VERSION) {
    long long v = -1;
    Error e = check(cairn_restart_test(c_, name.c_str(), max_version, &v));
    if (!e.ok()) return e;
    return v;
  }
  // Restores exactly `version`, verified as it is read (cairn_restart).
  Error restart(const std::string& name, long long version) {
    return check(cairn_restart(c_, name.c_str(), version));
  }
  Error restart_begin(const std::string& name, long long version) {
    return check(cairn_restart_begin(c_, name.c_str(), version));
  }
  Expected<size_t> recover_size(int id) {
    size_t n = 0;
    Error e = check(cairn_recover_size(c_, id, &n));
    if (!e.ok()) return e;
    return n;
  }
  Error recover_mem(cairn_select_t sel = CAIRN_SELECT_ALL, const std::set<int>& ids = {}) {
    std::vector<int> v(ids.begin(), ids.end());
    return check(cairn_recover_mem(c_, sel, v.data(), v.size()));
  }
  Error restart_end(bool success) { return check(cairn_restart_end(c_, success ? 1 : 0)); }

  // During a checkpoint: where to write `path`; during a restart: where to read it from.
  Expected<std::string> route_file(const std::string& path) {
    std::string buf(CAIRN_PATH_MAX, '\0');
    Error e = check(cairn_route_file(c_, path.c_str(), buf.data(), buf.size()));
    if (!e.ok()) return e;
    buf.resize(buf.find('\0'));
    return buf;
  }

 private:
  explicit Client(cairn_client_t* c) : c_(c) {}
  Error check(cairn_status_t s) const {
    if (s == CAIRN_OK) return Error();
    return Error(s, cairn_last_error(c_));
  }
  bool flag(cairn_status_t (*fn)(cairn_client_t*, int*), Error* error) {
    int f = 0;
    Error e = check(fn(c_, &f));
    const bool set = e.ok() && f != 0;
    if (error != nullptr) *error = std::move(e);
    return set;
  }

  cairn_client_t* c_ = nullptr;
};

}  // namespace v0
}  // namespace cairn

#endif  // CAIRN_CAIRN_HPP
