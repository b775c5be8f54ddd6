"""The transport build setting and a test rule that builds its binary with it.

    # .bazelrc: build:sim --//bazel:transport=loopback
    load("//bazel:transport.bzl", "transport_test")

    cc_binary(name = "remote_test_bin", testonly = True, srcs = [...])
    transport_test(name = "remote_test_loopback", binary = ":remote_test_bin",
                   transport = "loopback")

`//bazel:transport` ("grpc" or "loopback") picks what
anvil::NewDefaultNetwork() returns, through select() on
//bazel:transport_loopback. transport_test builds `binary` with the setting
forced (a Starlark transition), so one `bazel test //...` with no flags runs
tests of both flavours. The test sees ANVIL_EXPECTED_TRANSPORT in its
environment.
"""

TRANSPORTS = ["grpc", "loopback"]

def _transport_setting_impl(ctx):
    if ctx.build_setting_value not in TRANSPORTS:
        fail("//bazel:transport must be one of %s, not '%s'" %
             (TRANSPORTS, ctx.build_setting_value))
    return []

transport_setting = rule(
    implementation = _transport_setting_impl,
    build_setting = config.string(flag = True),
)

def _force_transport_impl(settings, attr):
    return {"//bazel:transport": attr.transport}

_force_transport = transition(
    implementation = _force_transport_impl,
    inputs = [],
    outputs = ["//bazel:transport"],
)

def _transport_test_impl(ctx):
    binary = ctx.attr.binary[0][DefaultInfo]
    executable = binary.files_to_run.executable
    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(
        output = script,
        content = "#!/usr/bin/env bash\n" +
                  "export ANVIL_EXPECTED_TRANSPORT=%s\n" % ctx.attr.transport +
                  "exec ./%s \"$@\"\n" % executable.short_path,
        is_executable = True,
    )
    runfiles = ctx.runfiles(files = [executable]).merge(binary.default_runfiles)
    return [DefaultInfo(executable = script, runfiles = runfiles)]

transport_test = rule(
    implementation = _transport_test_impl,
    test = True,
    attrs = {
        "binary": attr.label(
            cfg = _force_transport,
            executable = True,
            mandatory = True,
        ),
        "transport": attr.string(mandatory = True, values = TRANSPORTS),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
)

def sim_test(name, binary, **kwargs):
    """A test whose binary is built in the simulation world.

    The loopback transport and ANVIL_SIMULATION (virtual time while a
    testing/sim Simulation runs), as --config=sim builds everything.

        cc_binary(name = "kv_sim_test_bin", testonly = True, ...)
        sim_test(name = "kv_sim_test", binary = ":kv_sim_test_bin")
    """
    transport_test(name = name, binary = binary, transport = "loopback", **kwargs)
