"""package_sources(): a package's sources, for //testing:layers_test."""

def package_sources():
    """Every .h and .cc of the calling package, as the filegroup "sources"."""
    native.filegroup(
        name = "sources",
        srcs = native.glob([
            "**/*.h",
            "**/*.cc",
        ]),
        visibility = ["//testing:__pkg__"],
    )
