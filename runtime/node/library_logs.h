// RouteLibraryLogs: gRPC's and protobuf's own log lines go through anvil's
// log (runtime/core/log.h), so a node writes one format, filtered by one
// level: "grpc: chttp2_transport.cc:1234: ..." (gRPC's errors as errors,
// its info lines at debug, its debug lines at trace), "protobuf: ..." at
// its own level. gRPC is told to produce what the level in force when this
// is first called (SetLogLevel) shows.
//
//   int main(int argc, char** argv) {
//     anvil::RouteLibraryLogs();   // NodeMain does this
//     ...
//   }
//
// Thread-safe; calling it again has no further effect.
#ifndef ANVIL_RUNTIME_NODE_LIBRARY_LOGS_H_
#define ANVIL_RUNTIME_NODE_LIBRARY_LOGS_H_

namespace anvil {

void RouteLibraryLogs();

}  // namespace anvil

#endif  // ANVIL_RUNTIME_NODE_LIBRARY_LOGS_H_
