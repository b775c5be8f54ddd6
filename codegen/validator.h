// Validate: every problem of the daemons protoc-gen-anvil is asked to
// generate, found before anything is generated, each with where it is:
//
//   std::vector<Problem> problems = Validate(files);
//   for (const Problem& p : problems) std::cerr << p.ToString() << "\n";
//   // codegen/testdata/bad_self.proto:5:1: service bad.Narcissus:
//   //     depends on itself
//
// Checked, for the daemons of `files` and, transitively, those they depend
// on in imported files: unknown dependencies and ones that are not
// daemons, a dependency on itself, a cycle (across files; Problem::cycle
// holds its path), a process-wide daemon depending on a per-node one,
// one-way methods not returning google.protobuf.Empty, contradictory or
// empty exposure, streaming methods on an exposed daemon, dependency
// accessors hiding the base's own, and the C++ named beside the proto
// (cc_header, cc_interface, cc_messages). docs/codegen.md, "Validation".
#ifndef ANVIL_CODEGEN_VALIDATOR_H_
#define ANVIL_CODEGEN_VALIDATOR_H_

#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"

namespace anvil::codegen {

struct Problem {
  // Where the service is declared: 1-based; 0 when the source is unknown.
  std::string file;
  int line = 0;
  int column = 0;
  std::string service;  // its full name
  std::string message;  // what is wrong, without the location
  // For a dependency cycle: the path around it, first daemon repeated last.
  std::vector<std::string> cycle;

  // "file.proto:line:col: service demo.S: message".
  std::string ToString() const;
};

std::vector<Problem> Validate(
    const std::vector<const google::protobuf::FileDescriptor*>& files);

}  // namespace anvil::codegen

#endif  // ANVIL_CODEGEN_VALIDATOR_H_
