// Watches the kv store from Node.js over its own HTTP/2 stack (node:http2,
// nghttp2: not gRPC's C core), speaking gRPC's wire format by hand, as a
// client of any stack would: length-prefixed messages, grpc-status in the
// trailers. Debian has no Node gRPC library; this checks the stream
// against a second HTTP/2 implementation.
//
//   node node_watch.js 127.0.0.1:7001 COUNT
//
// Streams from revision 1 until COUNT PUT events came, checks that
// revisions strictly increase, prints them, and cancels the stream (the
// server must take the RST_STREAM). Exits non-zero with a message
// otherwise, or after 30 s.
'use strict';
const http2 = require('node:http2');

const [server, countArg] = process.argv.slice(2);
const want = Number(countArg);

function varint(n) {
  const out = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return Buffer.from(out);
}

function readVarint(data, i) {
  let result = 0, scale = 1;
  for (;;) {
    const byte = data[i++];
    result += (byte & 0x7f) * scale;
    scale *= 128;
    if (!(byte & 0x80)) return [result, i];
  }
}

// WatchEvent { type = 1, key = 2, value = 3, revision = 4 }
function decodeEvent(data) {
  const event = {type: 0, key: '', value: '', revision: 0};
  let i = 0;
  while (i < data.length) {
    let key;
    [key, i] = readVarint(data, i);
    const field = key >> 3, wire = key & 7;
    if (wire === 0) {
      let value;
      [value, i] = readVarint(data, i);
      if (field === 1) event.type = value;
      if (field === 4) event.revision = value;
    } else if (wire === 2) {
      let size;
      [size, i] = readVarint(data, i);
      const text = data.subarray(i, i + size).toString();
      i += size;
      if (field === 2) event.key = text;
      if (field === 3) event.value = text;
    } else {
      throw new Error(`unexpected wire type ${wire}`);
    }
  }
  return event;
}

const fail = (why) => { console.error(`node watch: ${why}`); process.exit(1); };
setTimeout(() => fail('timed out'), 30000).unref();

const session = http2.connect(`http://${server}`);
session.on('error', (e) => fail(`connection: ${e.message}`));
// WatchRequest { from_revision = 2 }: every change from revision 1.
const request = Buffer.concat([varint(2 << 3), varint(1)]);
const frame = Buffer.alloc(5);
frame.writeUInt32BE(request.length, 1);
const stream = session.request({
  ':method': 'POST',
  ':path': '/anvil.kv.KvStore/Watch',
  'content-type': 'application/grpc',
  'te': 'trailers',
});
stream.end(Buffer.concat([frame, request]));

let pending = Buffer.alloc(0), last = 0, puts = 0;
stream.on('data', (chunk) => {
  pending = Buffer.concat([pending, chunk]);
  while (pending.length >= 5) {
    const size = pending.readUInt32BE(1);
    if (pending.length < 5 + size) break;
    const event = decodeEvent(pending.subarray(5, 5 + size));
    pending = pending.subarray(5 + size);
    if (event.revision <= last) fail(`revision ${event.revision} after ${last}`);
    last = event.revision;
    if (event.type === 0 && ++puts === want) {
      console.log(`node watch: ${puts} puts in order, up to revision ${last}`);
      stream.close(http2.constants.NGHTTP2_CANCEL);
      session.close();
      return;
    }
  }
});
stream.on('trailers', (trailers) => {
  if (puts < want) {
    fail(`stream ended early: grpc-status ${trailers['grpc-status']} ` +
         `${trailers['grpc-message'] || ''}`);
  }
});
