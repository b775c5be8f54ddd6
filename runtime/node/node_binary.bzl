"""anvil_node_binary: a program whose main() is anvil::NodeMain.

    load("//runtime/node:node_binary.bzl", "anvil_node_binary")

    anvil_node_binary(
        name = "greeter",
        srcs = ["greeter_main.cc"],
        deps = [":greeter_anvil"],
    )

A cc_binary with what such a main needs besides the program's own
libraries: NodeMain (runtime/node/node_main.h), the status macros daemon
code uses, and the sanitizer defaults (no effect outside --config=asan and
--config=tsan).
"""

def anvil_node_binary(name, srcs, deps = [], **kwargs):
    native.cc_binary(
        name = name,
        srcs = srcs,
        deps = deps + [
            "//runtime/core:status_macros",
            "//runtime/node:node_main",
            "//testing:sanitizer_defaults",
        ],
        **kwargs
    )
