// ANVIL_BUGGIFY: a named fault point. Code places it where something rare
// could happen (a slow disk, a spurious retry, a tiny buffer), so that
// simulation makes the rare case common:
//
//   if (ANVIL_BUGGIFY("storage.slow_disk")) co_await Sleep(absl::Seconds(2));
//   const size_t batch = ANVIL_BUGGIFY("kv.tiny_batches") ? 1 : 1024;
//   if (ANVIL_BUGGIFY_WITH_PROB("net.reset", 0.01)) co_return Unavailable();
//
// In the simulation build (--config=sim, sim_test), while a
// testing/sim Simulation runs, each site (file and line) is switched on for
// the whole run with probability 1/4, decided by the seed when the site is
// first reached, and a site that is on fires with probability 1/4 each time
// it is evaluated (ANVIL_BUGGIFY_WITH_PROB: with the given probability, for
// faults that must stay rare, such as errors on every call); so a seed
// replays its faults exactly. The name (a string
// literal, "<area>.<what>") is how a failing run reports which sites fired
// (Simulation::buggify_fired()). Everywhere else, and in every production
// build, ANVIL_BUGGIFY(name) is the constant false and costs nothing.
// (FoundationDB's BUGGIFY, which this follows.)
// docs/simulation.md lists the sites in anvil itself.
//
// Thread-safety: evaluated on the simulation's thread only, where it can
// be true.
#ifndef ANVIL_RUNTIME_CORE_BUGGIFY_H_
#define ANVIL_RUNTIME_CORE_BUGGIFY_H_

#ifdef ANVIL_SIMULATION
#include <atomic>

namespace anvil::internal {

// Installed by the running simulation: decides one evaluation of the site
// `name` at `file`:`line`.
using BuggifyHook = bool (*)(void* context, const char* name, const char* file,
                             int line, double probability);
inline std::atomic<BuggifyHook> buggify_hook{nullptr};
inline std::atomic<void*> buggify_context{nullptr};

inline bool Buggify(const char* name, const char* file, int line,
                    double probability = 0.25) {
  const BuggifyHook hook = buggify_hook.load(std::memory_order_acquire);
  return hook != nullptr &&
         hook(buggify_context.load(std::memory_order_acquire), name, file, line,
              probability);
}

}  // namespace anvil::internal

#define ANVIL_BUGGIFY(name) \
  (::anvil::internal::Buggify("" name, __FILE__, __LINE__))
#define ANVIL_BUGGIFY_WITH_PROB(name, probability) \
  (::anvil::internal::Buggify("" name, __FILE__, __LINE__, (probability)))
#else
#define ANVIL_BUGGIFY(name) false
#define ANVIL_BUGGIFY_WITH_PROB(name, probability) false
#endif

#endif  // ANVIL_RUNTIME_CORE_BUGGIFY_H_
