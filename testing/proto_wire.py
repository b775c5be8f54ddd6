"""Protocol buffers' wire format by hand, for test clients in Python that
use no generated code (runtime/transport/grpc/testdata/python_client.py,
services/kv/testdata/python_watch.py).

    request = varint(2 << 3 | 0) + varint(7)     # field 2 = 7
    for field, value in fields(reply): ...        # ints, or bytes

Imported from the test's runfiles:
    sys.path.insert(0, os.path.join(os.environ["TEST_SRCDIR"], "anvil",
                                    "testing"))
"""


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def length_delimited(field, data):
    return varint(field << 3 | 2) + varint(len(data)) + data


def read_varint(data, i):
    """The varint at data[i:], and the index after it."""
    shift = result = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, i


def fields(data):
    """Yields (field number, value) of a serialized message: ints for
    varints, bytes for length-delimited fields."""
    i = 0
    while i < len(data):
        key, i = read_varint(data, i)
        field, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, i = read_varint(data, i)
        elif wire_type == 2:
            size, i = read_varint(data, i)
            value, i = data[i:i + size], i + size
        else:
            raise ValueError("unexpected wire type %d" % wire_type)
        yield field, value
