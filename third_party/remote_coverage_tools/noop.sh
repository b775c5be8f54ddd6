#!/bin/sh
# anvil does not collect coverage through Bazel; this stands in for the tools
# Bazel 4.2.3 would download for `bazel coverage`.
exit 0
