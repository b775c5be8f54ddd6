// protoc-gen-anvil: see anvil_generator.h.
#include "codegen/anvil_generator.h"
#include "google/protobuf/compiler/plugin.h"

int main(int argc, char* argv[]) {
  anvil::codegen::AnvilGenerator generator;
  return google::protobuf::compiler::PluginMain(argc, argv, &generator);
}
