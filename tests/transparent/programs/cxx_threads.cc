// C++ std::thread + std::mutex + std::condition_variable: a ping-pong between two threads
// (each waits for its turn on one condition variable) and a producer/consumer std::deque with
// a bounded size, guarded by std::unique_lock; std::atomic progress counters checked by main.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "mx.h"

MX_PROGRAM("cxx_threads");

namespace {

std::mutex mu;
std::condition_variable turn_cv, queue_cv;
int turn = 0;  // 0: ping, 1: pong
int rounds = 0;
std::deque<std::vector<int>> queue;
std::atomic<int> consumed{0};
uint64_t consumed_hash = MX_HASH_INIT;

void player(int me) {
  for (int i = 0; i < MX_STEPS; ++i) {
    std::unique_lock<std::mutex> lock(mu);
    turn_cv.wait(lock, [&] { return turn == me; });
    if (me == 0) ++rounds;
    MX_CHECK(rounds == i + 1, "player %d round %d: rounds %d", me, i, rounds);
    turn = 1 - me;
    turn_cv.notify_all();
    lock.unlock();
    if (me == 0) mx_step_sleep();
  }
}

void consumer() {
  for (int i = 0; i < MX_STEPS; ++i) {
    std::unique_lock<std::mutex> lock(mu);
    queue_cv.wait(lock, [] { return !queue.empty(); });
    std::vector<int> v = std::move(queue.front());
    queue.pop_front();
    queue_cv.notify_all();
    lock.unlock();
    MX_CHECK(v.size() == static_cast<size_t>(i % 50 + 1), "item %d: size %zu", i, v.size());
    for (size_t k = 0; k < v.size(); ++k)
      MX_CHECK(v[k] == i * 1000 + static_cast<int>(k), "item %d: element %zu", i, k);
    consumed_hash = mx_hash(consumed_hash, v.data(), v.size() * sizeof(int));
    consumed.store(i + 1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  std::thread ping(player, 0), pong(player, 1), cons(consumer);
  std::thread prod([] {
    for (int i = 0; i < MX_STEPS; ++i) {
      std::vector<int> v(static_cast<size_t>(i % 50 + 1));
      for (size_t k = 0; k < v.size(); ++k) v[k] = i * 1000 + static_cast<int>(k);
      {
        std::unique_lock<std::mutex> lock(mu);
        queue_cv.wait(lock, [] { return queue.size() < 3; });
        queue.push_back(std::move(v));
      }
      queue_cv.notify_all();
      std::this_thread::sleep_for(std::chrono::milliseconds(MX_STEP_MS));
    }
  });
  int last = -1, still = 0;
  while (consumed.load() < MX_STEPS) {
    mx_step_sleep();
    int now = consumed.load();
    still = now == last ? still + 1 : 0;
    last = now;
    MX_CHECK(still < 40, "the consumer stopped at %d", now);
  }
  ping.join();
  pong.join();
  cons.join();
  prod.join();
  std::cout << "ping-pong rounds " << rounds << ", consumed " << consumed.load() << " hash "
            << std::hex << consumed_hash << std::endl;
  return 0;
}
