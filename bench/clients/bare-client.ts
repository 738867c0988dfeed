/**
 * Client for the bare Node baselines (bench/baselines/bare-server.ts):
 * GET /stream?model=…&prompt=…&batch=… answers the images back to back as
 * one raw body, and declares their sizes and SHA-256 in trailers
 * (x-image-bytes, x-image-sha256: comma-separated, in image order).
 * GET /models is the unary call.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import http from "node:http";
import type http2 from "node:http2";
import { type HashingMode, ImageAssembler, VerificationError } from "../verify/index.js";
import { connectHttp2, createCountedAgent, SocketCounter } from "./connections.js";
import { type BenchClient, nominalChunks, type StreamCall, type StreamOutcome } from "./types.js";

/** Options for createBareBenchClient. */
export interface BareBenchClientOptions {
  baseUrl: string;
  httpVersion: "1.1" | "2";
  /** HTTP/2 stream and connection window in bytes. */
  windowBytes: number;
  /** The server's chunk size, to count its writes. */
  chunkBytes: number;
}

type Trailers = Record<string, string | string[] | undefined>;

/** Creates one client of a bare baseline. */
export function createBareBenchClient(options: BareBenchClientOptions): BenchClient {
  const sockets = new SocketCounter();
  const url = new URL(options.baseUrl);
  let agent: http.Agent | undefined;
  let session: http2.ClientHttp2Session | undefined;

  /**
   * GETs path; calls onData with each body chunk; resolves with the status
   * and the trailers once the body ended.
   */
  function get(
    path: string,
    onData: (data: Buffer) => void,
  ): Promise<{ status: number; trailers: Trailers }> {
    if (options.httpVersion === "2") {
      // A session the server closed (idle timeout, GOAWAY) is replaced by a new one.
      if (session === undefined || session.closed || session.destroyed) {
        session = connectHttp2(options.baseUrl, options.windowBytes, sockets);
      }
      const stream = session.request({ ":method": "GET", ":path": path });
      return new Promise((resolve, reject) => {
        let status = 0;
        let trailers: Trailers = {};
        stream.once("response", (headers) => {
          status = Number(headers[":status"]);
        });
        stream.on("trailers", (headers) => {
          trailers = headers as Trailers;
        });
        stream.on("data", onData);
        stream.once("error", reject);
        stream.once("end", () => resolve({ status, trailers }));
        stream.end();
      });
    }
    agent ??= createCountedAgent(sockets);
    const usedAgent = agent;
    return new Promise((resolve, reject) => {
      const req = http.get(
        { host: url.hostname, port: url.port, path, agent: usedAgent },
        (res) => {
          res.on("data", onData);
          res.once("error", reject);
          res.once("end", () =>
            resolve({ status: res.statusCode ?? 0, trailers: res.trailers as Trailers }),
          );
          res.once("close", () => {
            if (!res.readableEnded) reject(new VerificationError("the response body was cut off"));
          });
        },
      );
      req.once("error", reject);
    });
  }

  return {
    sockets,
    close() {
      session?.destroy();
      agent?.destroy();
    },
    async stream(call: StreamCall, hashing: HashingMode): Promise<StreamOutcome> {
      const assembler = new ImageAssembler(call.batchSize, hashing);
      const query = new URLSearchParams({
        model: call.modelId,
        prompt: call.prompt,
        batch: String(call.batchSize),
      });
      const started = performance.now();
      let firstChunkMs = -1;
      let errorBody = "";
      const { status, trailers } = await get(`/stream?${query}`, (data) => {
        if (firstChunkMs < 0) {
          firstChunkMs = performance.now() - started;
        }
        assembler.addToStream(data);
        if (errorBody.length < 200) errorBody += data.toString("utf8", 0, 200);
      });
      const totalMs = performance.now() - started;
      if (status !== 200) {
        throw new Error(`GET /stream: HTTP ${status}: ${errorBody.slice(0, 200)}`);
      }
      const sizes = String(trailers["x-image-bytes"] ?? "").split(",");
      const hashes = String(trailers["x-image-sha256"] ?? "").split(",");
      if (sizes.length !== call.batchSize || hashes.length !== call.batchSize) {
        throw new VerificationError(
          `the trailers declare ${sizes.length} sizes and ${hashes.length} hashes for ${call.batchSize} images`,
        );
      }
      for (let index = 0; index < call.batchSize; index++) {
        assembler.declare(index, Number(sizes[index]), hashes[index]);
      }
      return {
        firstChunkMs,
        totalMs,
        payloadBytes: assembler.receivedBytes,
        chunks: nominalChunks(
          sizes.map((size) => Number(size)),
          options.chunkBytes,
        ),
        chunksNominal: true,
        assembler,
      };
    },
    async unary(): Promise<void> {
      const parts: Buffer[] = [];
      const { status } = await get("/models", (data) => parts.push(data));
      const models = (JSON.parse(Buffer.concat(parts).toString("utf8")) as { models?: unknown[] })
        .models;
      if (status !== 200 || !Array.isArray(models) || models.length === 0) {
        throw new VerificationError(`GET /models: HTTP ${status} with no models`);
      }
    },
  };
}
