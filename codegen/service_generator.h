// ServiceGenerator and MethodGenerator: the C++ protoc-gen-anvil writes for
// one service and for one of its methods, in protobuf's generator shape:
// each owns its template variables and prints its parts, into the header
// or the source, with templates that look like their output.
//
//   const ServiceModel model(*file.service(i));
//   ServiceGenerator service(model, file.name());
//   service.PrintClient(header);       // SMethodCall..., SMessage, SRef
//   service.PrintBase(header);         // SActor, or SDeps and SDaemon
//   service.PrintDefinitions(source);  // Handlers, Info, receive loop, ...
//
// What each part is: docs/codegen.md; the golden files in
// codegen/testdata/golden show the output.
#ifndef ANVIL_CODEGEN_SERVICE_GENERATOR_H_
#define ANVIL_CODEGEN_SERVICE_GENERATOR_H_

#include <map>
#include <string>
#include <vector>

#include "codegen/service_model.h"
#include "google/protobuf/io/printer.h"

namespace anvil::codegen {

using TemplateVars = std::map<std::string, std::string>;

class MethodGenerator {
 public:
  MethodGenerator(const ServiceModel& service, const MethodModel& method);

  // `struct SMethodCall`: the mailbox message of a call.
  void PrintCallType(google::protobuf::io::Printer& p) const;
  // The ref's public function, and its private helper.
  void PrintClientFunction(google::protobuf::io::Printer& p) const;
  void PrintClientHelper(google::protobuf::io::Printer& p) const;
  // The pure virtual coroutine the implementation overrides.
  void PrintVirtual(google::protobuf::io::Printer& p) const;
  // Its entry in SRef::Handlers (or why it has none).
  void PrintHandler(google::protobuf::io::Printer& p) const;
  // Its branch of the receive loop; every branch but the last continues.
  void PrintDispatch(google::protobuf::io::Printer& p, bool last) const;

  const MethodModel& method() const { return method_; }

 private:
  // The streaming kinds' parts of the above.
  void PrintStreamClientFunction(google::protobuf::io::Printer& p) const;
  void PrintStreamVirtual(google::protobuf::io::Printer& p) const;
  void PrintStreamDispatch(google::protobuf::io::Printer& p) const;

  const MethodModel& method_;
  TemplateVars vars_;
};

class ServiceGenerator {
 public:
  // `source`: the .proto file's name, for comments.
  ServiceGenerator(const ServiceModel& service, const std::string& source);

  // Header: the call types, the mailbox's message and the typed client.
  // Nothing for a service without unary methods.
  void PrintClient(google::protobuf::io::Printer& p) const;
  // Header: SActor for a plain service; SDeps and SDaemon for a daemon.
  void PrintBase(google::protobuf::io::Printer& p) const;
  // Source: what PrintClient and PrintBase declared.
  void PrintDefinitions(google::protobuf::io::Printer& p) const;

 private:
  void PrintActorClass(google::protobuf::io::Printer& p) const;
  void PrintDeps(google::protobuf::io::Printer& p) const;
  void PrintDaemonClass(google::protobuf::io::Printer& p) const;
  void PrintHandlers(google::protobuf::io::Printer& p) const;
  void PrintDaemonDefinitions(google::protobuf::io::Printer& p) const;
  void PrintActorDefinitions(google::protobuf::io::Printer& p) const;
  // The receive loop's body, reading from `context`.
  void PrintReceiveLoop(google::protobuf::io::Printer& p,
                        const std::string& context) const;

  const ServiceModel& service_;
  std::vector<MethodGenerator> methods_;
  TemplateVars vars_;
};

}  // namespace anvil::codegen

#endif  // ANVIL_CODEGEN_SERVICE_GENERATOR_H_
