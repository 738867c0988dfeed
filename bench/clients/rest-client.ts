/**
 * Bench client for the REST routes: POST /infer/stream (image/png for a
 * batch of 1, multipart/mixed otherwise) and GET /v1/models, over node:http
 * (HTTP/1.1, keep-alive) or node:http2 (cleartext, the same windows as the
 * Connect clients).
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import http from "node:http";
import type http2 from "node:http2";
import {
  type HashingMode,
  ImageAssembler,
  MultipartImageParser,
  VerificationError,
} from "../verify/index.js";
import { connectHttp2, createCountedAgent, readAll, SocketCounter } from "./connections.js";
import {
  type BenchClient,
  type ExtraHeaders,
  nominalChunks,
  type StreamCall,
  type StreamOutcome,
} from "./types.js";

/** Options for createRestBenchClient. */
export interface RestBenchClientOptions {
  baseUrl: string;
  httpVersion: "1.1" | "2";
  /** HTTP/2 stream and connection window in bytes. */
  windowBytes: number;
  /** The server's chunk size, to count its writes (see StreamOutcome.chunks). */
  chunkBytes: number;
  headers?: ExtraHeaders;
}

/** A response as the REST client sees it, whatever the HTTP version. */
interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: NodeJS.ReadableStream;
}

/** Creates one REST client: one HTTP/2 session, or one HTTP/1.1 keep-alive agent. */
export function createRestBenchClient(options: RestBenchClientOptions): BenchClient {
  const sockets = new SocketCounter();
  const url = new URL(options.baseUrl);
  const extra = options.headers ?? {};
  let agent: http.Agent | undefined;
  let session: http2.ClientHttp2Session | undefined;

  function request(method: string, path: string, body?: string): Promise<RawResponse> {
    const headers: Record<string, string> = { ...extra };
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      headers["content-length"] = String(Buffer.byteLength(body));
    }
    if (options.httpVersion === "2") {
      // A session the server closed (idle timeout, GOAWAY) is replaced by a new one.
      if (session === undefined || session.closed || session.destroyed) {
        session = connectHttp2(options.baseUrl, options.windowBytes, sockets);
      }
      const stream = session.request({ ":method": method, ":path": path, ...headers });
      return new Promise((resolve, reject) => {
        stream.once("error", reject);
        stream.once("response", (responseHeaders) => {
          resolve({
            status: Number(responseHeaders[":status"]),
            headers: responseHeaders as RawResponse["headers"],
            body: stream,
          });
        });
        stream.end(body);
      });
    }
    agent ??= createCountedAgent(sockets);
    const usedAgent = agent;
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: url.hostname, port: url.port, method, path, headers, agent: usedAgent },
        (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }),
      );
      req.once("error", reject);
      req.end(body);
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
      const started = performance.now();
      const response = await request(
        "POST",
        "/infer/stream",
        JSON.stringify({
          model_id: call.modelId,
          prompt: call.prompt,
          batch_size: call.batchSize,
        }),
      );
      if (response.status !== 200) {
        const text = (await readAll(response.body)).toString("utf8");
        throw new Error(`POST /infer/stream: HTTP ${response.status}: ${text.slice(0, 200)}`);
      }
      const contentType = String(response.headers["content-type"] ?? "");
      let push: (data: Buffer) => void;
      let end: () => void = () => {};
      if (contentType.startsWith("image/png")) {
        const index = Number(response.headers["x-image-index"] ?? 0);
        assembler.declare(
          index,
          Number(response.headers["x-image-bytes"] ?? response.headers["content-length"]),
          header(response.headers["x-image-sha256"]),
        );
        push = (data) => assembler.add(index, data);
      } else {
        const boundary = MultipartImageParser.boundaryOf(contentType);
        if (boundary === undefined) {
          throw new VerificationError(`POST /infer/stream answered ${contentType || "no type"}`);
        }
        const parser = new MultipartImageParser(boundary, assembler);
        push = (data) => parser.push(data);
        end = () => parser.end();
      }
      let firstChunkMs = -1;
      await new Promise<void>((resolve, reject) => {
        const body = response.body;
        body.on("data", (data: Buffer) => {
          if (firstChunkMs < 0) {
            firstChunkMs = performance.now() - started;
          }
          try {
            push(data);
          } catch (err) {
            reject(err);
            (body as unknown as { destroy(): void }).destroy();
          }
        });
        body.once("end", resolve);
        body.once("error", reject);
        // An HTTP/1.1 body cut off by the server ends with "aborted" or "close", not "end".
        body.once("close", () => {
          if (!(body as unknown as { readableEnded: boolean }).readableEnded) {
            reject(new VerificationError("the response body was cut off"));
          }
        });
      });
      end();
      const totalMs = performance.now() - started;
      return {
        firstChunkMs,
        totalMs,
        payloadBytes: assembler.receivedBytes,
        chunks: nominalChunks(assembler.declaredSizes(), options.chunkBytes),
        chunksNominal: true,
        assembler,
      };
    },
    async unary(): Promise<void> {
      const response = await request("GET", "/v1/models");
      const text = (await readAll(response.body)).toString("utf8");
      if (response.status !== 200) {
        throw new Error(`GET /v1/models: HTTP ${response.status}: ${text.slice(0, 200)}`);
      }
      const models = (JSON.parse(text) as { models?: unknown[] }).models;
      if (!Array.isArray(models) || models.length === 0) {
        throw new VerificationError("GET /v1/models answered with no models");
      }
    },
  };
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
