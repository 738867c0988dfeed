/**
 * A server for `npm run bench:levers`, in its own process, built with the
 * ServerOptions given as JSON on the command line:
 *
 *   node --import tsx bench/levers/lever-server.ts '{"writeAheadBytes":0}' [--no-base64-polyfill]
 *
 * Prints `lever-server listening on URL` on stdout when ready. --no-base64-polyfill leaves
 * out the Buffer-backed base64 methods, to measure what they are worth.
 */
import type { ServerOptions } from "../../src/index.js";

const options = JSON.parse(process.argv[2] ?? "{}") as ServerOptions;
if (!process.argv.includes("--no-base64-polyfill")) {
  // Before anything loads protobuf-es, as in src/cli.ts.
  await import("../../src/base64-polyfill.js");
}
// The server folder rather than the package (src/index.ts): the package
// installs the base64 methods as it loads, and the base64 lever measures
// a server without them.
const { createServer } = await import("../../src/server/index.js");
const server = createServer({ ...options, cacheBytes: options.cacheBytes ?? 256 * 1024 * 1024 });
const { url } = await server.listen(0, "127.0.0.1");
process.stdout.write(`lever-server listening on ${url}\n`);
process.on("SIGTERM", () => {
  server.close(0).then(() => process.exit(0));
});
