// FileGenerator: x.anvil.h and x.anvil.cc for one .proto file: includes,
// namespace, and each service's parts (ServiceGenerator), clients first
// (a daemon's Deps may hold the client of one declared after it).
//
//   FileGenerator generator(*file);   // REQUIRES: Validate passed
//   std::string header = generator.Header();
//   std::string source = generator.Source();
//
// The text is not formatted; protoc-gen-anvil runs clang-format on it.
#ifndef ANVIL_CODEGEN_FILE_GENERATOR_H_
#define ANVIL_CODEGEN_FILE_GENERATOR_H_

#include <string>
#include <vector>

#include "codegen/service_generator.h"
#include "codegen/service_model.h"
#include "google/protobuf/descriptor.h"

namespace anvil::codegen {

class FileGenerator {
 public:
  explicit FileGenerator(const google::protobuf::FileDescriptor& file);

  std::string Header() const;
  std::string Source() const;

 private:
  const google::protobuf::FileDescriptor& file_;
  std::vector<ServiceModel> models_;
  std::vector<ServiceGenerator> services_;  // refer to models_
  TemplateVars vars_;
};

}  // namespace anvil::codegen

#endif  // ANVIL_CODEGEN_FILE_GENERATOR_H_
