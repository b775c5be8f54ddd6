// word_count: a small, complete anvil actor program.
//
//   ./bazelw run //examples/actors:word_count
//   ./bazelw run //examples/actors:word_count -- --readers=4 --lines=20000
//
// Reader actors (several, on every worker) split lines of text into words
// and send each word to a Counter actor; a flaky Tokenizer that sometimes
// fails is restarted by its supervisor; at the end the main thread asks the
// Counter for the top words with a request/response Call. Everything
// finishes on its own: when the last ActorRef to an actor is gone, its
// Receive() ends and its body returns. Ctrl-C shuts it down gracefully.
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "runtime/actor/actor_group.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/sleep.h"

ABSL_FLAG(int, readers, 3, "Reader actors.");
ABSL_FLAG(int, lines, 3000, "Lines each reader processes.");

namespace {

// --- Messages. ---

struct Word {
  std::string text;
};
struct Top {  // a request: the `n` most frequent words
  using Reply = std::vector<std::pair<std::string, int>>;
  int n;
};
using CounterMsg = std::variant<Word, anvil::Request<Top>>;

// --- Actors. ---

// Owns the counts; nobody else touches them.
anvil::Task<> Counter(anvil::ActorContext<CounterMsg>& ctx) {
  std::map<std::string, int> counts;
  while (std::optional<CounterMsg> msg = co_await ctx.Receive()) {
    if (auto* word = std::get_if<Word>(&*msg)) {
      ++counts[word->text];
    } else {
      auto& top = std::get<anvil::Request<Top>>(*msg);
      std::vector<std::pair<std::string, int>> sorted(counts.begin(),
                                                      counts.end());
      std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
        return a.second > b.second;
      });
      if (sorted.size() > static_cast<size_t>(top.request.n)) {
        sorted.resize(top.request.n);
      }
      top.reply.Send(std::move(sorted));
    }
  }
}

// Splits lines into words for the Counter. Fails on every 1000th line, to
// show supervision: the supervisor restarts it, the failing line is lost,
// the lines queued behind it are not.
anvil::Task<absl::Status> Tokenizer(anvil::ActorContext<std::string>& ctx,
                                    anvil::ActorRef<Word> counter) {
  while (std::optional<std::string> line = co_await ctx.Receive()) {
    if (line->find("#1000") != std::string::npos) {
      co_return absl::DataLossError("cannot read line " + *line);
    }
    for (absl::string_view w : absl::StrSplit(*line, ' ', absl::SkipEmpty())) {
      absl::Status sent = co_await counter.Send(Word{std::string(w)});
      if (!sent.ok()) co_return sent;
    }
  }
  co_return absl::OkStatus();
}

// Produces lines of text for the tokenizers, then returns.
anvil::Task<> Reader(anvil::ActorContext<int>& ctx, int id, int lines,
                     anvil::ActorGroup<std::string> tokenizers) {
  static const char* const kWords[] = {"the",     "actor", "sends",   "a",
                                       "message", "to",    "another", "worker"};
  for (int i = 0; i < lines; ++i) {
    std::string line = "reader" + std::to_string(id) + " #" + std::to_string(i);
    for (int w = 0; w <= (i + id) % 7; ++w) {
      line += ' ';
      line += kWords[(i * 7 + w * 3 + id) % 8];
    }
    // Round robin over the tokenizers; wait for room if all are full.
    while (!tokenizers.TrySendToOne(std::move(line)).ok()) {
      co_await anvil::Yield();
    }
  }
}

// Waits for the readers and tokenizers, then asks the counter for the top
// words and prints them.
anvil::Task<absl::Status> Reporter(anvil::ActorContext<int>& ctx,
                                   std::vector<anvil::ActorRef<int>> readers,
                                   std::vector<anvil::ActorWatch> tokenizers,
                                   anvil::ActorRef<CounterMsg> counter) {
  for (const auto& reader : readers) co_await reader.Join();
  readers.clear();  // the readers' refs to the tokenizers went with them
  // Without senders, the tokenizers drain their mailboxes and finish; every
  // word they sent is in the counter's mailbox before the request below,
  // which the counter therefore answers last.
  for (const auto& tokenizer : tokenizers) co_await tokenizer.Join();
  absl::StatusOr<Top::Reply> top = co_await counter.Call(Top{5});
  if (!top.ok()) co_return top.status();
  std::printf("top words:\n");
  for (const auto& [word, count] : *top) {
    std::printf("  %-10s %d\n", word.c_str(), count);
  }
  co_return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);

  anvil::Runtime runtime(anvil::RuntimeOptions{.name = "word_count"});
  std::printf("runtime: %zu workers\n", runtime.workers());

  anvil::ActorRef<CounterMsg> counter = runtime.Spawn(
      Counter,
      anvil::ActorOptions{.name = "counter", .mailbox_capacity = 4096});
  anvil::ActorGroup<std::string> tokenizers;
  for (int i = 0; i < 2; ++i) {
    tokenizers.Add(runtime.Spawn(
        Tokenizer, counter.Map<Word>(),
        anvil::ActorOptions{.name = "tokenizer-" + std::to_string(i),
                            .mailbox_capacity = 256,
                            .supervisor = anvil::RestartSupervisor(
                                /*max_restarts=*/100, absl::Seconds(10)),
                            .worker = i}));
  }
  // Watches, to join the tokenizers without keeping them alive.
  std::vector<anvil::ActorWatch> tokenizer_watches;
  for (const auto& t : tokenizers.members()) {
    tokenizer_watches.push_back(t.Watch());
  }
  std::vector<anvil::ActorRef<int>> readers;
  for (int i = 0; i < absl::GetFlag(FLAGS_readers); ++i) {
    readers.push_back(runtime.Spawn(Reader, i, absl::GetFlag(FLAGS_lines),
                                    tokenizers,
                                    anvil::ActorOptions{.worker = i}));
  }
  // The readers hold the tokenizer refs now; dropping ours lets the
  // tokenizers finish once the readers are done.
  tokenizers = anvil::ActorGroup<std::string>();

  // The reporter joins the others, asks the counter, prints, and lets go
  // of the last refs: then every actor has finished and Run() returns.
  runtime.Spawn(Reporter, std::move(readers), std::move(tokenizer_watches),
                std::move(counter), anvil::ActorOptions{.name = "reporter"});

  const absl::Status run = runtime.Run();
  std::printf("all actors finished: %s\n", run.ToString().c_str());
  return run.ok() ? 0 : 1;
}
