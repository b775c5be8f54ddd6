"""Calls an exposed anvil daemon from Python with Debian's python3-grpcio.

    python_client.py 127.0.0.1:41234

No code is generated for Python: the client discovers the service through
server reflection, builds the message classes from the file descriptors the
server returns, checks health, and makes typed calls. Exits non-zero with a
message on the first check that fails.
"""
import os
import sys

import grpc

from google.protobuf import descriptor_pb2
from google.protobuf import descriptor_pool
from google.protobuf import message_factory

# The wire-format helpers, from the test's runfiles.
sys.path.insert(0, os.path.join(os.environ["TEST_SRCDIR"], "anvil", "testing"))
from proto_wire import fields, length_delimited, varint  # noqa: E402

SERVICE = "anvil.transport.testdata.Echo"


def check(condition, what):
    if not condition:
        sys.exit("python client: FAILED: " + what)
    print("python client: ok:", what)


def reflect(channel, request):
    """One ServerReflectionRequest (grpc.reflection.v1alpha), as bytes."""
    call = channel.stream_stream(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        request_serializer=lambda b: b,
        response_deserializer=lambda b: b)
    return list(call(iter([request]), timeout=10))[0]


def main():
    channel = grpc.insecure_channel(sys.argv[1])
    grpc.channel_ready_future(channel).result(timeout=30)

    # Reflection: the service is listed (list_services = field 7) ...
    response = reflect(channel, length_delimited(7, b""))
    services = [
        dict(fields(entry))[1].decode()
        for field, listing in fields(response) if field == 6
        for entry_field, entry in fields(listing) if entry_field == 1
    ]
    check(SERVICE in services, "reflection lists %s in %s" % (SERVICE, services))

    # ... and its files (file_containing_symbol = field 4) describe it.
    response = reflect(channel, length_delimited(4, SERVICE.encode()))
    pool = descriptor_pool.DescriptorPool()
    files = [
        descriptor_pb2.FileDescriptorProto.FromString(proto)
        for field, answer in fields(response) if field == 4
        for proto_field, proto in fields(answer) if proto_field == 1
    ]
    added = set()
    while len(added) < len(files):  # dependencies first
        for f in files:
            if f.name not in added and all(d in added for d in f.dependency):
                pool.Add(f)
                added.add(f.name)
    factory = message_factory.MessageFactory(pool)
    request_class = factory.GetPrototype(
        pool.FindMessageTypeByName("anvil.transport.testdata.EchoRequest"))
    reply_class = factory.GetPrototype(
        pool.FindMessageTypeByName("anvil.transport.testdata.EchoReply"))
    check(True, "message classes built from %d reflected files" % len(files))

    # Health (grpc.health.v1): SERVING = 1.
    health = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=lambda b: b,
        response_deserializer=lambda b: b)
    status = dict(fields(health(length_delimited(1, SERVICE.encode()),
                                timeout=10))).get(1, 0)
    check(status == 1, "health of %s is SERVING (got %d)" % (SERVICE, status))

    say = channel.unary_unary(
        "/%s/Say" % SERVICE,
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=reply_class.FromString)
    reply = say(request_class(text="from python"), timeout=10)
    check(reply.text == "from python", "Say echoes (got %r)" % reply.text)

    try:
        say(request_class(text="no such key", code=5), timeout=10)
        check(False, "an actor error reaches python")
    except grpc.RpcError as error:
        check(error.code() == grpc.StatusCode.NOT_FOUND and
              error.details() == "no such key",
              "the actor's NOT_FOUND reaches python (got %s: %s)" %
              (error.code(), error.details()))

    try:
        say(request_class(wait_for_cancel=True), timeout=0.2)
        check(False, "a deadline reaches python")
    except grpc.RpcError as error:
        check(error.code() == grpc.StatusCode.DEADLINE_EXCEEDED,
              "a 200 ms deadline gives DEADLINE_EXCEEDED (got %s)" %
              error.code())
    print("python client: PASS")


if __name__ == "__main__":
    main()
