/**
 * The soak's well-formed calls, through real clients: ordinary requests
 * over every protocol (each image checked against its SHA-256), streams
 * cancelled after their first chunk, and calls past a 300 ms deadline.
 * Library module of bench/soak/run-soak.ts.
 */
// First: protobuf-es reads the base64 methods when it loads.
import "../../src/base64-polyfill.js";
import { createHash } from "node:crypto";
import http from "node:http";
import http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { createInferenceClient, type ProtocolName } from "../../src/client/index.js";
import type { Tally } from "./tally.js";

/** A protocol over an HTTP version, as the soak calls it. */
interface CallCase {
  readonly name: string;
  readonly protocol: ProtocolName | "rest";
  readonly httpVersion: "1.1" | "2";
}

/** Every protocol and HTTP version the server speaks. */
export const callCases: readonly CallCase[] = [
  { name: "grpc-h2", protocol: "grpc", httpVersion: "2" },
  { name: "grpc-web-h1", protocol: "grpc-web", httpVersion: "1.1" },
  { name: "grpc-web-h2", protocol: "grpc-web", httpVersion: "2" },
  { name: "connect-h1", protocol: "connect", httpVersion: "1.1" },
  { name: "connect-h2", protocol: "connect", httpVersion: "2" },
  { name: "connect-json-h1", protocol: "connect-json", httpVersion: "1.1" },
  { name: "connect-json-h2", protocol: "connect-json", httpVersion: "2" },
  { name: "rest-h1", protocol: "rest", httpVersion: "1.1" },
  { name: "rest-h2", protocol: "rest", httpVersion: "2" },
];

/** The code name of an RPC error ("resource_exhausted"). */
function codeName(err: unknown): string {
  const name = Code[ConnectError.from(err).code] ?? "unknown";
  return name.replace(/[A-Z]/g, (c, i: number) =>
    i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`,
  );
}

/** Refusals a well-behaved client may get from a busy server: retry later. */
const refusals = new Set(["resource_exhausted"]);

/** Rebuilds each image of a stream and checks it against its image_sha256. */
function verifyChunks(
  chunks: { data: Uint8Array; metadata: Record<string, string> }[],
): string | undefined {
  const images = new Map<string, { sha256: string; parts: Buffer[] }>();
  for (const chunk of chunks) {
    const index = chunk.metadata.image_index ?? "?";
    const image = images.get(index) ?? { sha256: chunk.metadata.image_sha256 ?? "", parts: [] };
    image.parts.push(Buffer.from(chunk.data));
    images.set(index, image);
  }
  if (images.size === 0) return "no images";
  for (const [index, image] of images) {
    const sha256 = createHash("sha256").update(Buffer.concat(image.parts)).digest("hex");
    if (sha256 !== image.sha256) return `image ${index}: SHA-256 does not match`;
  }
  return undefined;
}

/** One ordinary call; records its outcome under "ordinary" and returns its duration in ms. */
export async function ordinaryCall(
  url: string,
  callCase: CallCase,
  prompt: string,
  tally: Tally,
): Promise<number> {
  const started = performance.now();
  const request = { modelId: "thumb-64", prompt, batchSize: 2 };
  if (callCase.protocol === "rest") {
    const outcome = await restCall(url, callCase.httpVersion, {
      model_id: "thumb-64",
      prompt,
      batch_size: 1,
    });
    tally.record(
      "ordinary",
      outcome.code,
      outcome.code === "ok" || refusals.has(outcome.code),
      `${callCase.name} ${outcome.detail ?? ""}`,
    );
    return performance.now() - started;
  }
  const client = createInferenceClient({
    baseUrl: url,
    protocol: callCase.protocol,
    httpVersion: callCase.httpVersion,
  });
  try {
    const chunks = [];
    for await (const chunk of client.client.streamInference(request)) chunks.push(chunk);
    const wrong = verifyChunks(chunks);
    tally.record(
      "ordinary",
      wrong === undefined ? "ok" : "corrupt",
      wrong === undefined,
      `${callCase.name} ${wrong ?? ""}`,
    );
  } catch (err) {
    const code = codeName(err);
    tally.record(
      "ordinary",
      code,
      refusals.has(code),
      `${callCase.name} ${ConnectError.from(err).rawMessage}`,
    );
  } finally {
    client.close();
  }
  return performance.now() - started;
}

/** POST /infer/stream for one image; checks it against x-image-sha256. */
function restCall(
  url: string,
  httpVersion: "1.1" | "2",
  body: Record<string, unknown>,
): Promise<{ code: string; detail?: string }> {
  const text = JSON.stringify(body);
  const judge = (status: number, headers: Record<string, unknown>, bytes: Buffer, cut: boolean) => {
    if (status === 200) {
      if (cut) return { code: "truncated", detail: "the body was cut off" };
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      return sha256 === headers["x-image-sha256"]
        ? { code: "ok" }
        : { code: "corrupt", detail: "SHA-256 does not match" };
    }
    try {
      const error = JSON.parse(bytes.toString("utf8")) as { code: string; message: string };
      return { code: error.code, detail: `HTTP ${status} ${error.message}` };
    } catch {
      return { code: `http_${status}` };
    }
  };
  return new Promise((resolve) => {
    if (httpVersion === "2") {
      const session = http2.connect(url);
      session.on("error", (err) => resolve({ code: "connection_error", detail: err.message }));
      const stream = session.request({
        ":method": "POST",
        ":path": "/infer/stream",
        "content-type": "application/json",
      });
      let status = 0;
      let headers: Record<string, unknown> = {};
      const parts: Buffer[] = [];
      stream.on("response", (h) => {
        status = Number(h[":status"]);
        headers = h;
      });
      stream.on("data", (part: Buffer) => parts.push(part));
      stream.on("error", () => {});
      stream.on("close", () => {
        session.close();
        resolve(
          judge(
            status,
            headers,
            Buffer.concat(parts),
            stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR,
          ),
        );
      });
      stream.end(text);
      return;
    }
    const req = http.request(
      new URL("/infer/stream", url),
      { method: "POST", headers: { "content-type": "application/json" }, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        let cut = false;
        res.on("data", (part: Buffer) => parts.push(part));
        res.on("aborted", () => {
          cut = true;
        });
        res.on("error", () => {
          cut = true;
        });
        res.on("close", () =>
          resolve(
            judge(res.statusCode ?? 0, res.headers, Buffer.concat(parts), cut || !res.complete),
          ),
        );
      },
    );
    req.on("error", (err) => resolve({ code: "connection_error", detail: err.message }));
    req.end(text);
  });
}

/** A noise-1000 stream cancelled after its first chunk (gRPC). */
export async function cancelledCall(url: string, prompt: string, tally: Tally): Promise<void> {
  const client = createInferenceClient({ baseUrl: url, protocol: "grpc" });
  const abort = new AbortController();
  let chunks = 0;
  try {
    for await (const _ of client.client.streamInference(
      { modelId: "noise-1000", prompt, batchSize: 10 },
      { signal: abort.signal },
    )) {
      chunks++;
      abort.abort();
    }
    tally.record("cancel", "finished", false, "the stream ended before its cancel");
  } catch (err) {
    const code = chunks > 0 ? "canceled" : codeName(err);
    tally.record(
      "cancel",
      code,
      code === "canceled" || refusals.has(code),
      ConnectError.from(err).rawMessage,
    );
  } finally {
    client.close();
  }
}

/** A noise-1000 stream with a 300 ms deadline (Connect over HTTP/1.1, then gRPC, alternately). */
export async function deadlineCall(
  url: string,
  prompt: string,
  tally: Tally,
  grpc: boolean,
): Promise<void> {
  const client = createInferenceClient({
    baseUrl: url,
    protocol: grpc ? "grpc" : "connect",
    httpVersion: grpc ? "2" : "1.1",
  });
  try {
    for await (const _ of client.client.streamInference(
      { modelId: "noise-1000", prompt, batchSize: 10 },
      { timeoutMs: 300 },
    )) {
      // Read at the client's pace.
    }
    tally.record("deadline", "ok", true);
  } catch (err) {
    const code = codeName(err);
    tally.record(
      "deadline",
      code,
      code === "deadline_exceeded" || refusals.has(code),
      ConnectError.from(err).rawMessage,
    );
  } finally {
    client.close();
  }
}
