import { createClient } from "@connectrpc/connect";
import { InferenceService } from "../../src/gen/modelmora/inference_pb.js";
import { describeError } from "./error-text.js";
import { checkImage } from "./image-check.js";
import type { ProtocolId } from "./protocols.js";
import { createTransportFor } from "./rpc-stream.js";
import { runStream, type StreamRun } from "./run-stream.js";
import type { StreamRequest } from "./stream-request.js";

/** One streaming call the benchmark asks the page to make. */
export interface BenchCall extends StreamRequest {
  readonly protocol: ProtocolId;
  /** Extra request headers: the benchmark's credentials. */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * What one call measured in the page (performance.now(), ms) and what the
 * page verified after the timed part: every image of the batch arrived
 * whole with the size and SHA-256 (Web Crypto) the server declared.
 */
export interface BenchOutcome {
  /** The call's error, as the page shows it ("invalid_argument: …"), when it failed. */
  readonly callError?: string;
  /** What did not verify, when the call succeeded but an image is wrong or missing. */
  readonly verifyError?: string;
  /** From the call to the first response body byte. */
  readonly firstChunkMs: number;
  /** From the call to the end of the response. */
  readonly totalMs: number;
  /** Image bytes received. */
  readonly payloadBytes: number;
  /** Response body bytes: images plus protocol framing (base64 for JSON). */
  readonly bodyBytes: number;
  /** Protocol messages (RPC) or body reads (REST). */
  readonly messages: number;
  /** The HTTP version the browser used, as Resource Timing reports it. */
  readonly httpVersion: string;
  /** Each image's SHA-256 by index, as computed in the page. */
  readonly sha256: readonly string[];
  /** Each image's size in bytes, by index. */
  readonly imageBytes: readonly number[];
}

/** A round of concurrent calls, timed from the first call to the last byte of the last. */
export interface BenchRound {
  readonly roundMs: number;
  readonly outcomes: readonly BenchOutcome[];
}

/**
 * The page's benchmark hooks, as `globalThis.modelmoraBench`: the
 * benchmark (`npm run bench -- --browser`) loads the page in Chromium and
 * calls these through Playwright, so every figure is measured inside the
 * browser, with its own HTTP stack, fetch streaming and connect-web.
 */
export interface BenchApi {
  /** One streamed batch, measured then verified. */
  stream(call: BenchCall): Promise<BenchOutcome>;
  /** Concurrent streamed batches, all verified. */
  round(calls: readonly BenchCall[]): Promise<BenchRound>;
  /** One small unary call (ListModels, or GET /v1/models for REST); its time in ms. */
  unary(protocol: ProtocolId, headers?: Readonly<Record<string, string>>): Promise<number>;
}

declare global {
  var modelmoraBench: BenchApi | undefined;
}

/** Installs globalThis.modelmoraBench for the server at baseUrl. */
export function installBenchApi(baseUrl: string): void {
  const run = (call: BenchCall) =>
    runStream({
      baseUrl,
      protocol: call.protocol,
      request: { modelId: call.modelId, prompt: call.prompt, batchSize: call.batchSize },
      headers: call.headers,
    });
  globalThis.modelmoraBench = {
    async stream(call) {
      return outcomeOf(await run(call));
    },
    async round(calls) {
      const startedMs = performance.now();
      const runs = await Promise.all(calls.map(run));
      const roundMs = Math.max(...runs.map((r) => r.endMs)) - startedMs;
      return { roundMs, outcomes: await Promise.all(runs.map(outcomeOf)) };
    },
    async unary(protocol, headers = {}) {
      const startedMs = performance.now();
      if (protocol === "rest") {
        const response = await fetch(`${baseUrl}/v1/models`, { headers });
        const body = (await response.json()) as { models?: unknown[] };
        if (!response.ok || !Array.isArray(body.models) || body.models.length === 0) {
          throw new Error(`GET /v1/models answered ${response.status} without models`);
        }
      } else {
        const client = createClient(
          InferenceService,
          createTransportFor(protocol, baseUrl, globalThis.fetch.bind(globalThis)),
        );
        const answer = await client.listModels({}, { headers });
        if (answer.models.length === 0) {
          throw new Error("ListModels answered no models");
        }
      }
      return performance.now() - startedMs;
    },
  };
}

/** The figures of a run, then its verification (after the timed part). */
async function outcomeOf(run: StreamRun): Promise<BenchOutcome> {
  const figures = {
    firstChunkMs: (run.firstByteMs ?? run.endMs) - run.startedMs,
    totalMs: run.endMs - run.startedMs,
    payloadBytes: run.imageBytes,
    bodyBytes: run.bodyBytes,
    messages: run.messages,
    httpVersion: run.httpVersion,
  };
  if (run.error !== undefined) {
    return { ...figures, callError: describeError(run.error), sha256: [], imageBytes: [] };
  }
  const checks = await Promise.all(run.images.map(checkImage));
  const sha256: string[] = [];
  const imageBytes: number[] = [];
  for (const check of checks) sha256[check.index] = check.sha256;
  for (const image of run.images) imageBytes[image.index] = image.bytes.byteLength;
  const bad = checks.find((check) => !check.sha256Ok);
  const missing = Array.from({ length: run.request.batchSize }, (_, i) => i).find(
    (i) => sha256[i] === undefined,
  );
  const verifyError =
    bad !== undefined
      ? `image ${bad.index}: SHA-256 ${bad.sha256} is not the server's`
      : missing !== undefined
        ? `image ${missing} is missing`
        : undefined;
  return { ...figures, verifyError, sha256, imageBytes };
}
