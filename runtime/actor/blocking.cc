#include "runtime/actor/blocking.h"

#include <deque>
#include <thread>

#include "runtime/core/mutex.h"

namespace anvil::internal {
namespace {

// A fixed pool of threads that live as long as the process: blocking jobs
// are rare and short-lived, and a pool that never shuts down cannot strand
// a job whose coroutine waits for it.
class BlockingPool {
 public:
  static constexpr int kThreads = 4;

  BlockingPool() {
    for (int i = 0; i < kThreads; ++i) {
      std::thread([this] { Loop(); }).detach();
    }
  }

  void Submit(std::function<void()> job) {
    MutexLock lock(mu_);
    jobs_.push_back(std::move(job));
    ready_.NotifyOne();
  }

 private:
  void Loop() {
    while (true) {
      std::function<void()> job;
      {
        MutexLock lock(mu_);
        while (jobs_.empty()) ready_.Wait(mu_);
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  Mutex mu_;
  CondVar ready_;
  std::deque<std::function<void()>> jobs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

void SubmitBlocking(std::function<void()> job) {
  static BlockingPool* const pool = new BlockingPool;
  pool->Submit(std::move(job));
}

}  // namespace anvil::internal
