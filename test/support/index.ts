/**
 * The tests' one helper module; spec files import from here only.
 *
 * - server.ts: a real server in this process on port 0, waits, temporary folders.
 * - protocols.ts: the one protocol list and the case tables built from it;
 *   one call shape (callStream, callListModels, callHealthCheck, holdStream)
 *   over every protocol, and assertions on outcomes.
 * - images.ts: rebuilding images from chunks, PNG and multipart checks.
 * - raw-http.ts: requests sent by hand over HTTP/1.1 and HTTP/2, envelopes,
 *   each protocol's status.
 * - processes.ts: commands, curl, the CLI as a subprocess, Python.
 * - prometheus.ts: /metrics samples, and waiting on the renders gauge.
 * - call-summary.ts: a call summary for unit tests of logs and metrics.
 * - certificates.ts: a self-signed certificate made with openssl.
 * - grpc-js.ts: grpc-js clients from the proof of concept's proto and the health proto.
 */
// First: protobuf-es reads the base64 methods when it loads.
import "../../src/base64-polyfill.js";

export * from "./call-summary.js";
export * from "./certificates.js";
export * from "./free-port.js";
export * from "./grpc-js.js";
export * from "./haproxy-process.js";
export * from "./images.js";
export * from "./processes.js";
export * from "./prometheus.js";
export * from "./protocols.js";
export * from "./raw-http.js";
export * from "./redis-process.js";
export * from "./server.js";
