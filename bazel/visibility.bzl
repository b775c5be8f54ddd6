"""Visibility of the runtime's targets.

A runtime package's targets are private to the runtime and to testing/ (the
simulator drives workers and networks from inside) unless they are part of
the API, which says `visibility = PUBLIC`:

    load("//bazel:visibility.bzl", "PUBLIC", "RUNTIME_INTERNAL")

    package(default_visibility = RUNTIME_INTERNAL)

    cc_library(name = "task", ..., visibility = PUBLIC)
"""

RUNTIME_INTERNAL = [
    "//runtime:__subpackages__",
    "//testing:__subpackages__",
]

PUBLIC = ["//visibility:public"]
