"""C++ (and gRPC) code from .proto files, with Debian's protoc.

Bazel 4.2.3's native proto rules need @com_google_protobuf, which cannot be
fetched offline; this rule runs /usr/bin/protoc itself.

    load("//bazel:cc_proto.bzl", "cc_proto")

    cc_proto(
        name = "echo_proto",
        srcs = ["echo.proto"],
        grpc = True,          # also emit echo.grpc.pb.{h,cc}
        deps = ["//proto:anvil_options_proto"],
    )

`name` is a cc_library with the generated code; `name + "_protos"` carries
the .proto files for other cc_proto targets (deps resolve to it).

Import paths are relative to the workspace root unless `import_root` names
the package itself (then paths are relative to the package, as for
//proto:anvil/options.proto, imported as "anvil/options.proto"). Well-known
types and google/protobuf/descriptor.proto come from /usr/include.
"""

ProtoSourcesInfo = provider(
    doc = "The .proto files of a cc_proto target and of its dependencies.",
    fields = {
        "sources": "depset of File: every .proto, transitively",
        "mappings": "depset of string: protoc -I flags, `import/path=file`",
    },
)

def _import_prefix(ctx):
    """The part of a source's path that its import path leaves out."""
    if ctx.attr.import_root == "":
        return ""
    if ctx.attr.import_root != ctx.label.package:
        fail("import_root must be \"\" or this package (%s), got %s" %
             (ctx.label.package, ctx.attr.import_root))
    return ctx.label.package + "/"

def _proto_gen_impl(ctx):
    prefix = _import_prefix(ctx)
    imports = []
    for src in ctx.files.srcs:
        if src.owner.package != ctx.label.package:
            fail("%s: srcs must be in this package" % src.short_path)
        imports.append(src.short_path[len(prefix):])

    # Each source is mapped to its import path explicitly, so no -I root can
    # shadow another and imports resolve the same way in every package.
    sources = depset(
        ctx.files.srcs,
        transitive = [d[ProtoSourcesInfo].sources for d in ctx.attr.deps],
    )
    mappings = depset(
        ["-I%s=%s" % (imp, src.path) for imp, src in zip(imports, ctx.files.srcs)],
        transitive = [d[ProtoSourcesInfo].mappings for d in ctx.attr.deps],
    )

    suffixes = [".pb.h", ".pb.cc"]
    if ctx.attr.grpc:
        suffixes += [".grpc.pb.h", ".grpc.pb.cc"]
    suffixes += ctx.attr.plugin_suffixes

    outputs = []
    for src in ctx.files.srcs:
        base = src.short_path[len(ctx.label.package) + 1:][:-len(".proto")]
        for suffix in suffixes:
            outputs.append(ctx.actions.declare_file(base + suffix))

    # protoc writes a/b.proto's code to out_dir/a/b.pb.h.
    out_dir = ctx.bin_dir.path
    if prefix:
        out_dir += "/" + prefix[:-1]

    args = ctx.actions.args()
    args.add_all(mappings)
    args.add("-I/usr/include")
    args.add("--cpp_out=" + out_dir)
    tools = []
    inputs = sources
    if ctx.attr.grpc:
        args.add("--plugin=protoc-gen-grpc=" + ctx.executable._grpc_plugin.path)
        args.add("--grpc_out=" + out_dir)
        tools.append(ctx.executable._grpc_plugin)
    if ctx.attr.plugin:
        name = ctx.attr.plugin_name
        args.add("--plugin=protoc-gen-%s=%s" % (name, ctx.executable.plugin.path))
        args.add("--%s_out=%s" % (name, out_dir))
        tools.append(ctx.executable.plugin)
        if ctx.file.plugin_style:
            args.add("--%s_opt=style=%s" % (name, ctx.file.plugin_style.path))
            inputs = depset([ctx.file.plugin_style], transitive = [sources])
    args.add_all(imports)

    ctx.actions.run(
        executable = ctx.executable._protoc,
        arguments = [args],
        inputs = inputs,
        tools = tools,
        outputs = outputs,
        mnemonic = "ProtoCompile",
        progress_message = "Generating C++ from %s" % ctx.label,
    )
    return [
        DefaultInfo(
            files = depset(outputs),
            runfiles = ctx.runfiles(files = outputs),
        ),
        OutputGroupInfo(
            headers = depset([f for f in outputs if f.extension == "h"]),
            sources = depset([f for f in outputs if f.extension != "h"]),
        ),
        ProtoSourcesInfo(sources = sources, mappings = mappings),
    ]

proto_gen = rule(
    implementation = _proto_gen_impl,
    doc = "Runs protoc (and plugins) over srcs; outputs the generated C++.",
    attrs = {
        "srcs": attr.label_list(allow_files = [".proto"]),
        "deps": attr.label_list(providers = [ProtoSourcesInfo]),
        "import_root": attr.string(default = ""),
        "grpc": attr.bool(default = False),
        "plugin": attr.label(executable = True, cfg = "exec"),
        "plugin_name": attr.string(),
        "plugin_suffixes": attr.string_list(),
        "plugin_style": attr.label(allow_single_file = True),
        "_protoc": attr.label(
            default = "@system//:bin/protoc",
            executable = True,
            cfg = "exec",
            allow_single_file = True,
        ),
        "_grpc_plugin": attr.label(
            default = "@system//:bin/grpc_cpp_plugin",
            executable = True,
            cfg = "exec",
            allow_single_file = True,
        ),
    },
)

def proto_sources_label(dep):
    """The proto_gen target behind a cc_proto label."""
    if ":" not in dep:
        dep = dep + ":" + dep.split("/")[-1]
    return dep + "_protos"

def cc_proto(
        name,
        srcs,
        deps = [],
        grpc = False,
        import_root = "",
        plugin = None,
        plugin_name = "",
        plugin_suffixes = [],
        plugin_style = None,
        extra_cc_deps = [],
        extra_hdrs = [],
        visibility = None,
        testonly = False,
        **kwargs):
    """A cc_library of the C++ (and, with grpc, gRPC) code for srcs.

    Args:
      name: the cc_library; `name + "_protos"` holds the proto sources.
      srcs: .proto files in this package.
      deps: other cc_proto targets whose .proto files srcs import.
      grpc: also run grpc_cpp_plugin.
      import_root: "" (workspace root) or this package's path.
      plugin: another protoc plugin to run (a cc_binary label).
      plugin_name: its name: protoc gets --<name>_out.
      plugin_suffixes: the files it writes per .proto ("x" + suffix).
      plugin_style: a .clang-format file, given to the plugin as
        --<name>_opt=style=<path> (protoc-gen-anvil formats its output).
      extra_cc_deps: what the plugin's output needs to compile.
      extra_hdrs: hand-written headers compiled into the library with the
        generated code.
      visibility: of both targets.
      testonly: of both targets.
      **kwargs: passed to the cc_library.
    """
    proto_gen(
        name = name + "_protos",
        srcs = srcs,
        deps = [proto_sources_label(d) for d in deps],
        grpc = grpc,
        import_root = import_root,
        plugin = plugin,
        plugin_name = plugin_name,
        plugin_suffixes = plugin_suffixes,
        plugin_style = plugin_style,
        visibility = visibility,
        testonly = testonly,
    )
    for group in ("headers", "sources"):
        native.filegroup(
            name = "%s_%s" % (name, group),
            srcs = [":%s_protos" % name],
            output_group = group,
            visibility = ["//visibility:private"],
            testonly = testonly,
        )
    system_deps = ["@system//:protobuf"]
    if grpc:
        system_deps.append("@system//:grpc++")
    native.cc_library(
        name = name,
        srcs = [":%s_sources" % name],
        hdrs = [":%s_headers" % name] + extra_hdrs,
        includes = ["."] if import_root else [],
        deps = deps + system_deps + extra_cc_deps,
        # The generated code registers its descriptors at static
        # initialization; keep it even when nothing names its symbols, so
        # lookups by name (reflection, options) work in static links too.
        alwayslink = True,
        visibility = visibility,
        testonly = testonly,
        **kwargs
    )
