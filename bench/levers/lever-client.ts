/**
 * A client for `npm run bench:levers`, in its own process: streams one
 * request `iterations` times after one warm-up call (which also fills the
 * server's image cache, so this measures transport) and prints the median
 * and best throughput as JSON.
 *
 *   node --import tsx bench/levers/lever-client.ts '{"url":…,"protocol":"grpc","httpVersion":"2",
 *     "windowBytes":16777216,"iterations":9,"model":"noise-1000","batch":10}' [--no-base64-polyfill]
 */
import type { ProtocolName } from "../../src/index.js";

interface LeverClientOptions {
  url: string;
  protocol: ProtocolName;
  httpVersion: "1.1" | "2";
  windowBytes: number;
  iterations: number;
  model: string;
  batch: number;
}

const options = JSON.parse(process.argv[2] ?? "{}") as LeverClientOptions;
if (!process.argv.includes("--no-base64-polyfill")) {
  await import("../../src/base64-polyfill.js");
}
// The client folder rather than the package (src/index.ts): the package
// installs the base64 methods as it loads, and the base64 lever measures
// a process without them.
const { createInferenceClient } = await import("../../src/client/index.js");
const { client, close } = createInferenceClient({
  baseUrl: options.url,
  protocol: options.protocol,
  httpVersion: options.httpVersion,
  windowBytes: options.windowBytes,
});
const request = { modelId: options.model, prompt: "bench:levers", batchSize: options.batch };
const rates: number[] = [];
for (let i = -1; i < options.iterations; i++) {
  const started = performance.now();
  let bytes = 0;
  for await (const chunk of client.streamInference(request)) {
    bytes += chunk.data.byteLength;
  }
  const seconds = (performance.now() - started) / 1000;
  if (i >= 0) rates.push(bytes / 1e6 / seconds);
}
close();
rates.sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({ medianMBps: rates[rates.length >> 1], bestMBps: rates[rates.length - 1] })}\n`,
);
