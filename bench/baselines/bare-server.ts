/**
 * Bare Node baseline: the images written as one raw HTTP body, with nothing
 * between them and the socket but Node's HTTP/2 framing or HTTP/1.1 chunked
 * encoding. The ceiling for any protocol on Node on this machine.
 *
 *   node --import tsx bench/baselines/bare-server.ts --http 2 [--port 0]
 *   node --import tsx bench/baselines/bare-server.ts --http 1.1
 *
 * Flags: --http 2|1.1 (2), and the common ones of baseline-common.ts
 * (--port, --host, --chunk-bytes, --window-bytes, --renderer, --cache-bytes).
 * Prints "bare-h2 listening on URL (...)" on stdout when ready. Started by
 * `npm run bench` in its own process; stops on SIGTERM.
 *
 * Routes:
 *   GET /stream?model=M&prompt=P&batch=N  the N images of (M, P), generated
 *     exactly as the server does (same generator, cache and look-ahead),
 *     written in chunks of --chunk-bytes with backpressure. Trailers
 *     x-image-bytes and x-image-sha256 list each image's size and hash.
 *   GET /models  a small JSON model list (the unary call).
 *   GET /image?model=M&prompt=P&index=I  one PNG, with x-image-sha256 (the
 *     Python baseline fetches its transport-only images this way).
 */
import http from "node:http";
import http2 from "node:http2";
import type net from "node:net";
import { generateBatch, type ImageGenerator } from "../../src/index.js";
import {
  announce,
  type BaselineSettings,
  baselineSettingsFromArgs,
  chunksOf,
  createBaselineGenerator,
  exitOnSignals,
  modelListJson,
  modelOrThrow,
} from "./baseline-common.js";

/** Something to write to with backpressure: an h2 stream or an h1 response. */
interface Sink {
  write(chunk: Buffer): boolean;
  once(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
  readonly destroyed: boolean;
}

function write(sink: Sink, chunk: Buffer): Promise<void> {
  if (sink.write(chunk)) {
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const drained = () => {
      sink.off("close", closed);
      resolve();
    };
    const closed = () => {
      sink.off("drain", drained);
      reject(new Error("client went away"));
    };
    sink.once("drain", drained);
    sink.once("close", closed);
  });
}

interface StreamQuery {
  model: string;
  prompt: string;
  batch: number;
}

function streamQuery(url: URL): StreamQuery {
  const batch = Number(url.searchParams.get("batch") ?? "1");
  if (!Number.isInteger(batch) || batch < 1 || batch > 32) {
    throw new Error("batch must be 1..32");
  }
  return {
    model: url.searchParams.get("model") ?? "noise-1000",
    prompt: url.searchParams.get("prompt") ?? "",
    batch,
  };
}

/**
 * Writes the images of a batch to sink and returns their sizes and hashes
 * for the trailers.
 */
async function writeImages(
  generator: ImageGenerator,
  settings: BaselineSettings,
  query: StreamQuery,
  sink: Sink,
  signal: AbortSignal,
  onFirst: () => void,
): Promise<{ sizes: number[]; hashes: string[] }> {
  const sizes: number[] = [];
  const hashes: string[] = [];
  const model = modelOrThrow(query.model);
  let first = true;
  for await (const image of generateBatch(generator, model, query.prompt, query.batch, signal)) {
    if (first) {
      first = false;
      onFirst();
    }
    for (const chunk of chunksOf(image.png, settings.chunkBytes)) {
      await write(sink, chunk);
    }
    sizes.push(image.png.byteLength);
    hashes.push(image.sha256);
  }
  return { sizes, hashes };
}

function main(): void {
  const settings = baselineSettingsFromArgs(process.argv.slice(2), ["http"]);
  const httpVersion = settings.extra.http ?? "2";
  if (httpVersion !== "2" && httpVersion !== "1.1") {
    throw new Error(`--http must be 2 or 1.1, got "${httpVersion}"`);
  }
  const generator = createBaselineGenerator(settings);
  const models = modelListJson(generator, settings.chunkBytes);

  let server: net.Server;
  if (httpVersion === "2") {
    // The windows a production HTTP/2 server would set: 16 MiB per stream
    // and per connection (the protocol's default is 65,535 bytes).
    // maxSessionMemory: Node's default (10 MB) refuses new streams with
    // ENHANCE_YOUR_CALM once ten 1 MB chunks wait in a session's buffers,
    // which 100 streams on one connection reach at once; 512 MB lets the
    // session hold them, as a server made for such streams would allow.
    const h2 = http2.createServer({
      settings: { initialWindowSize: settings.windowBytes },
      maxSessionMemory: 512,
    });
    h2.on("session", (session) => session.setLocalWindowSize(settings.windowBytes));
    h2.on("stream", (stream, headers) => {
      const url = new URL(String(headers[":path"] ?? "/"), "http://bare");
      handleH2(generator, settings, models, stream, url).catch(() => {
        if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      });
    });
    server = h2;
  } else {
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://bare");
      handleH1(generator, settings, models, res, url).catch(() => res.destroy());
    });
  }
  server.listen(settings.port, settings.host, () => {
    const address = server.address() as net.AddressInfo;
    announce(
      httpVersion === "2" ? "bare-h2" : "bare-h1",
      `http://${settings.host}:${address.port}`,
      `node:${httpVersion === "2" ? "http2" : "http"}, chunk ${settings.chunkBytes} bytes, renderer ${generator.rendererName}`,
    );
  });
  exitOnSignals(() => server.close());
}

async function handleH2(
  generator: ImageGenerator,
  settings: BaselineSettings,
  models: string,
  stream: http2.ServerHttp2Stream,
  url: URL,
): Promise<void> {
  stream.on("error", () => {});
  if (url.pathname === "/models") {
    stream.respond({ ":status": 200, "content-type": "application/json" });
    stream.end(models);
    return;
  }
  if (url.pathname === "/image") {
    const image = await generator.generate(
      modelOrThrow(url.searchParams.get("model") ?? ""),
      url.searchParams.get("prompt") ?? "",
      Number(url.searchParams.get("index") ?? 0),
    );
    stream.respond({
      ":status": 200,
      "content-type": "image/png",
      "content-length": image.png.byteLength,
      "x-image-sha256": image.sha256,
    });
    stream.end(image.png);
    return;
  }
  if (url.pathname !== "/stream") {
    stream.respond({ ":status": 404 });
    stream.end();
    return;
  }
  const abort = new AbortController();
  stream.once("close", () => abort.abort());
  const query = streamQuery(url);
  const { sizes, hashes } = await writeImages(
    generator,
    settings,
    query,
    stream,
    abort.signal,
    () =>
      stream.respond(
        { ":status": 200, "content-type": "application/octet-stream" },
        { waitForTrailers: true },
      ),
  );
  stream.once("wantTrailers", () => {
    stream.sendTrailers({ "x-image-bytes": sizes.join(","), "x-image-sha256": hashes.join(",") });
  });
  stream.end();
}

async function handleH1(
  generator: ImageGenerator,
  settings: BaselineSettings,
  models: string,
  res: http.ServerResponse,
  url: URL,
): Promise<void> {
  if (url.pathname === "/models") {
    res.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(models),
    });
    res.end(models);
    return;
  }
  if (url.pathname === "/image") {
    const image = await generator.generate(
      modelOrThrow(url.searchParams.get("model") ?? ""),
      url.searchParams.get("prompt") ?? "",
      Number(url.searchParams.get("index") ?? 0),
    );
    res.writeHead(200, {
      "content-type": "image/png",
      "content-length": image.png.byteLength,
      "x-image-sha256": image.sha256,
    });
    res.end(image.png);
    return;
  }
  if (url.pathname !== "/stream") {
    res.writeHead(404);
    res.end();
    return;
  }
  const abort = new AbortController();
  res.once("close", () => abort.abort());
  const query = streamQuery(url);
  const { sizes, hashes } = await writeImages(generator, settings, query, res, abort.signal, () =>
    // No content-length: Node sends the body chunked, which trailers need.
    res.writeHead(200, {
      "content-type": "application/octet-stream",
      trailer: "x-image-bytes, x-image-sha256",
    }),
  );
  res.addTrailers({ "x-image-bytes": sizes.join(","), "x-image-sha256": hashes.join(",") });
  res.end();
}

try {
  main();
} catch (err) {
  process.stderr.write(`bare-server: ${(err as Error).message}\n`);
  process.exit(2);
}
