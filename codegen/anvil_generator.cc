#include "codegen/anvil_generator.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "codegen/file_generator.h"
#include "codegen/service_model.h"
#include "codegen/validator.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream.h"

namespace anvil::codegen {
namespace {

using ::google::protobuf::FileDescriptor;
using ::google::protobuf::compiler::GeneratorContext;
using ::google::protobuf::io::CodedOutputStream;
using ::google::protobuf::io::ZeroCopyOutputStream;

// `text` formatted by clang-format with the style file `style` as the
// file `name` would be; an error naming what failed.
absl::StatusOr<std::string> Formatted(const std::string& text,
                                      const std::string& name,
                                      const std::string& style) {
  const char* tmp = std::getenv("TMPDIR");
  std::string path = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp",
                                  "/anvil-format-XXXXXX");
  const int fd = mkstemp(path.data());
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot make a temporary file ", path));
  }
  close(fd);
  const std::string command =
      absl::StrCat("clang-format-14 --style=file:'", style,
                   "' --assume-filename='", name, "' > '", path, "'");
  FILE* pipe = popen(command.c_str(), "w");
  if (pipe == nullptr) {
    unlink(path.c_str());
    return absl::InternalError(absl::StrCat("cannot run ", command));
  }
  const bool written = fwrite(text.data(), 1, text.size(), pipe) == text.size();
  const int exit_status = pclose(pipe);
  std::ifstream file(path, std::ios::binary);
  std::stringstream formatted;
  formatted << file.rdbuf();
  unlink(path.c_str());
  if (!written || exit_status != 0 || formatted.str().empty()) {
    return absl::InternalError(absl::StrCat(
        "clang-format failed on ", name, " (", command, ", exit status ",
        exit_status, "); is clang-format-14 installed?"));
  }
  return formatted.str();
}

// Writes `text` (formatted, if `style` names a clang-format style file)
// to `name` in `context`.
bool Write(GeneratorContext& context, const std::string& name,
           const std::string& text, const std::string& style,
           std::string* error) {
  std::string out = text;
  if (!style.empty()) {
    absl::StatusOr<std::string> formatted = Formatted(text, name, style);
    if (!formatted.ok()) {
      *error = std::string(formatted.status().message());
      return false;
    }
    out = *std::move(formatted);
  }
  std::unique_ptr<ZeroCopyOutputStream> output(context.Open(name));
  CodedOutputStream coded(output.get());
  coded.WriteRaw(out.data(), static_cast<int>(out.size()));
  return true;
}

}  // namespace

bool AnvilGenerator::Generate(const FileDescriptor* file,
                              const std::string& parameter,
                              GeneratorContext* context,
                              std::string* error) const {
  return GenerateAll({file}, parameter, context, error);
}

bool AnvilGenerator::GenerateAll(
    const std::vector<const FileDescriptor*>& files,
    const std::string& parameter, GeneratorContext* context,
    std::string* error) const {
  // The one parameter: style=<a .clang-format file> formats the output.
  std::string style;
  if (!parameter.empty()) {
    absl::string_view value = parameter;
    if (!absl::ConsumePrefix(&value, "style=") || value.empty() ||
        absl::StrContains(value, "'")) {
      *error = absl::StrCat(
          "protoc-gen-anvil takes one parameter, style=<.clang-format "
          "file>; got \"",
          parameter, "\"");
      return false;
    }
    style = std::string(value);
  }
  const std::vector<Problem> problems = Validate(files);
  if (!problems.empty()) {
    *error = absl::StrJoin(problems, "\n",
                           [](std::string* out, const Problem& problem) {
                             out->append(problem.ToString());
                           });
    return false;
  }
  for (const FileDescriptor* file : files) {
    const FileGenerator generator(*file);
    const std::string base = StripProto(file->name());
    if (!Write(*context, base + ".anvil.h", generator.Header(), style, error) ||
        !Write(*context, base + ".anvil.cc", generator.Source(), style,
               error)) {
      return false;
    }
  }
  return true;
}

}  // namespace anvil::codegen
