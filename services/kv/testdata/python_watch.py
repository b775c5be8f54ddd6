"""Watches the kv store from Python with Debian's python3-grpcio.

    python_watch.py SERVER[,SERVER...] ACKED_FILE

A client no one here wrote: grpcio's unary_stream call on raw bytes, the
WatchRequest encoded and each WatchEvent decoded by hand (no generated
code). Streams every change from revision 1; when its server goes away,
resumes at the next from the revision after the last it got. Exits 0 once
it has seen every "key value" line of ACKED_FILE as a PUT, with
revisions strictly increasing; non-zero with a message otherwise (or
after 60 s).
"""
import os
import sys
import time

import grpc

# The wire-format helpers, from the test's runfiles.
sys.path.insert(0, os.path.join(os.environ["TEST_SRCDIR"], "anvil", "testing"))
from proto_wire import fields, varint  # noqa: E402

METHOD = "/anvil.kv.KvStore/Watch"


def watch_request(from_revision):
    # WatchRequest { prefix = 1 (""), from_revision = 2 }
    return varint(2 << 3 | 0) + varint(from_revision)


def event(data):
    # WatchEvent { type = 1, key = 2, value = 3, revision = 4 }
    out = {"type": 0, "key": b"", "value": b"", "revision": 0}
    for field, value in fields(data):
        out[{1: "type", 2: "key", 3: "value", 4: "revision"}[field]] = value
    return out


def main():
    servers = sys.argv[1].split(",")
    expected = set()
    with open(sys.argv[2]) as acked:
        for line in acked:
            key, value = line.split()
            expected.add((key.encode(), value.encode()))
    seen = set()
    next_revision, last, resumed = 1, 0, 0
    give_up = time.time() + 60
    attempt = 0
    while expected - seen and time.time() < give_up:
        server = servers[attempt % len(servers)]
        attempt += 1
        with grpc.insecure_channel(server) as channel:
            call = channel.unary_stream(METHOD)(watch_request(next_revision),
                                                timeout=10)
            try:
                for raw in call:
                    e = event(raw)
                    if e["revision"] <= last:
                        sys.exit("revision %d after %d: out of order or twice"
                                 % (e["revision"], last))
                    last = e["revision"]
                    next_revision = last + 1
                    if e["type"] == 0:
                        seen.add((e["key"], e["value"]))
                    if not expected - seen:
                        call.cancel()
                        break
            except grpc.RpcError as error:
                resumed += 1
                if error.code() in (grpc.StatusCode.OUT_OF_RANGE,
                                    grpc.StatusCode.INVALID_ARGUMENT):
                    sys.exit("watch refused: %s" % error.details())
                time.sleep(0.2)
    missing = expected - seen
    if missing:
        sys.exit("%d acknowledged writes never watched, e.g. %s"
                 % (len(missing), sorted(missing)[0]))
    print("python watch: %d acknowledged writes seen in order, up to "
          "revision %d, resumed %d times" % (len(expected), last, resumed))


if __name__ == "__main__":
    main()
