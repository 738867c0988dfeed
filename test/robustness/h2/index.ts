/**
 * A small HTTP/2 client for raw-frame tests: frames as bytes (frames.ts),
 * just enough HPACK (hpack.ts), and a connection driven frame by frame
 * (connection.ts).
 */
export * from "./connection.js";
export * from "./frames.js";
export * from "./hpack.js";
