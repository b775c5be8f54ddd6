"""anvil_cc_library: C++ for .proto files declaring anvil daemons and actors.

    load("//codegen:anvil.bzl", "anvil_cc_library")

    anvil_cc_library(
        name = "kv_anvil",
        srcs = ["kv.proto"],
        deps = [":storage_anvil"],   # other anvil_cc_library targets imported
    )

One cc_library with the messages (kv.pb.h), the gRPC stubs (kv.grpc.pb.h)
and anvil's declarations (kv.anvil.h) for every file in srcs. A daemon whose
options name C++ beside the proto (its cc_interface or cc_messages, declared
in its cc_header) needs that header: in cc_hdrs, compiled into this library
(it may then include the protos' .pb.h, never their .anvil.h, which includes
it), or in the cc_library of one of cc_deps (which cannot see the .pb.h).

    anvil_cc_library(
        name = "kv_anvil",
        srcs = ["kv.proto"],
        cc_hdrs = ["daemon_apis.h"],   # kv.proto's cc_header
        cc_deps = ["@system//:absl_time"],   # what daemon_apis.h includes
    )

Every proto may `import "anvil/options.proto"`; protoc-gen-anvil reports
bad daemon declarations as build errors naming the file, line and service.
"""

load("//bazel:cc_proto.bzl", "cc_proto")

def anvil_cc_library(
        name,
        srcs,
        deps = [],
        cc_hdrs = [],
        cc_deps = [],
        visibility = None,
        testonly = False):
    cc_proto(
        name = name,
        srcs = srcs,
        grpc = True,
        deps = deps + ["//proto:anvil_options_proto"],
        plugin = "//codegen:protoc-gen-anvil",
        plugin_name = "anvil",
        plugin_suffixes = [".anvil.h", ".anvil.cc"],
        # Formatted as the tree is, by clang-format.
        plugin_style = "//:.clang-format",
        extra_cc_deps = ["//runtime/generated:support"] + cc_deps,
        extra_hdrs = cc_hdrs,
        visibility = visibility,
        testonly = testonly,
    )
