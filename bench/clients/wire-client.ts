/**
 * A minimal client for the binary RPC protocols (gRPC, gRPC-Web, Connect
 * streaming over protobuf), written against the wire formats with
 * node:http2 / node:http, as the REST and bare rows are. It shows what each
 * protocol costs when the client library adds nothing: the connect-node
 * rows show what a user of the standard client gets. Both run against the
 * same server, so the difference between the two rows is client cost.
 *
 * It parses every envelope and decodes every message with protobuf-es
 * (fromBinary does not copy `bytes` fields); a message that arrives in one
 * socket read is used in place, one split across reads is gathered with one
 * copy. Statuses are checked (grpc-status trailer, gRPC-Web trailer frame,
 * Connect end-of-stream message).
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import http from "node:http";
import type http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  InferenceRequestSchema,
  InferenceResponseSchema,
  ListModelsResponseSchema,
} from "../../src/gen/modelmora/inference_pb.js";
import { type HashingMode, ImageAssembler, VerificationError } from "../verify.js";
import { connectHttp2, createCountedAgent, SocketCounter } from "./connections.js";
import type { BenchClient, ExtraHeaders, StreamCall, StreamOutcome } from "./types.js";

/** The binary protocols this client speaks. */
export type WireProtocol = "grpc" | "grpc-web" | "connect";

/** Options for createWireBenchClient. */
export interface WireBenchClientOptions {
  baseUrl: string;
  protocol: WireProtocol;
  httpVersion: "1.1" | "2";
  /** HTTP/2 stream and connection window in bytes. */
  windowBytes: number;
  headers?: ExtraHeaders;
}

const contentTypes: Record<WireProtocol, string> = {
  grpc: "application/grpc+proto",
  "grpc-web": "application/grpc-web+proto",
  connect: "application/connect+proto",
};

type Headers = Record<string, string | string[] | undefined>;

/** Creates one wire client: one HTTP/2 session or one keep-alive agent. */
export function createWireBenchClient(options: WireBenchClientOptions): BenchClient {
  const sockets = new SocketCounter();
  const url = new URL(options.baseUrl);
  let agent: http.Agent | undefined;
  let session: http2.ClientHttp2Session | undefined;

  /** POSTs one enveloped request; hands each body chunk to onData. */
  function post(
    path: string,
    body: Uint8Array,
    onData: (data: Buffer) => void,
    contentType = contentTypes[options.protocol],
  ): Promise<{ status: number; headers: Headers; trailers: Headers }> {
    const headers: Record<string, string> = {
      ...options.headers,
      "content-type": contentType,
    };
    if (options.protocol === "grpc") headers.te = "trailers";
    if (options.protocol === "grpc-web") headers["x-grpc-web"] = "1";
    if (options.protocol === "connect") headers["connect-protocol-version"] = "1";
    if (options.httpVersion === "2") {
      session ??= connectHttp2(options.baseUrl, options.windowBytes, sockets);
      const stream = session.request({ ":method": "POST", ":path": path, ...headers });
      return new Promise((resolve, reject) => {
        let status = 0;
        let responseHeaders: Headers = {};
        let trailers: Headers = {};
        stream.once("response", (h) => {
          status = Number(h[":status"]);
          responseHeaders = h as Headers;
        });
        stream.on("trailers", (h) => {
          trailers = h as Headers;
        });
        stream.on("data", onData);
        stream.once("error", reject);
        stream.once("end", () => resolve({ status, headers: responseHeaders, trailers }));
        stream.end(body);
      });
    }
    agent ??= createCountedAgent(sockets);
    const usedAgent = agent;
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: "POST",
          path,
          headers: { ...headers, "content-length": String(body.byteLength) },
          agent: usedAgent,
        },
        (res) => {
          res.on("data", onData);
          res.once("error", reject);
          res.once("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers as Headers,
              trailers: res.trailers as Headers,
            }),
          );
        },
      );
      req.once("error", reject);
      req.end(body);
    });
  }

  /** Calls a method; hands each data message to onMessage; throws on a failed status. */
  async function call(
    method: string,
    request: Uint8Array,
    onMessage: (message: Uint8Array) => void,
  ): Promise<void> {
    const splitter = new EnvelopeSplitter();
    let endOfStream: { flags: number; data: Uint8Array } | undefined;
    const { status, headers, trailers } = await post(
      `/modelmora.InferenceService/${method}`,
      envelope(0, request),
      (data) => {
        splitter.push(data, (flags, message) => {
          if (flags === 0) onMessage(message);
          else endOfStream = { flags, data: message };
        });
      },
    );
    if (status !== 200) {
      throw new Error(`${method}: HTTP ${status}`);
    }
    if (splitter.pendingBytes > 0) {
      throw new VerificationError(`${method}: the response ended inside a message`);
    }
    checkStatus(options.protocol, method, headers, trailers, endOfStream);
  }

  return {
    sockets,
    close() {
      session?.destroy();
      agent?.destroy();
    },
    async stream(streamCall: StreamCall, hashing: HashingMode): Promise<StreamOutcome> {
      const assembler = new ImageAssembler(streamCall.batchSize, hashing);
      const request = toBinary(InferenceRequestSchema, create(InferenceRequestSchema, streamCall));
      const started = performance.now();
      let firstChunkMs = -1;
      let chunks = 0;
      await call("StreamInference", request, (bytes) => {
        if (firstChunkMs < 0) firstChunkMs = performance.now() - started;
        chunks++;
        const response = fromBinary(InferenceResponseSchema, bytes);
        const metadata = response.metadata;
        const index = Number(metadata.image_index);
        assembler.declare(index, Number(metadata.image_bytes), metadata.image_sha256);
        assembler.add(index, response.data, Number(metadata.chunk_offset));
      });
      return {
        firstChunkMs,
        totalMs: performance.now() - started,
        payloadBytes: assembler.receivedBytes,
        chunks,
        chunksNominal: false,
        assembler,
      };
    },
    async unary(): Promise<void> {
      let models = 0;
      if (options.protocol === "connect") {
        // Connect unary: the message is the whole body, not enveloped.
        const parts: Buffer[] = [];
        const { status } = await post(
          "/modelmora.InferenceService/ListModels",
          new Uint8Array(0),
          (data) => parts.push(data),
          "application/proto",
        );
        if (status !== 200) throw new Error(`ListModels: HTTP ${status}`);
        models = fromBinary(ListModelsResponseSchema, Buffer.concat(parts)).models.length;
        if (models === 0) throw new VerificationError("ListModels answered with no models");
        return;
      }
      await call("ListModels", new Uint8Array(0), (bytes) => {
        models = fromBinary(ListModelsResponseSchema, bytes).models.length;
      });
      if (models === 0) throw new VerificationError("ListModels answered with no models");
    },
  };
}

/** Splits a byte stream into envelopes: 1 byte of flags, 4 of length, the message. */
class EnvelopeSplitter {
  private parts: Buffer[] = [];
  private partsBytes = 0;

  get pendingBytes(): number {
    return this.partsBytes;
  }

  push(data: Buffer, onEnvelope: (flags: number, message: Uint8Array) => void): void {
    let chunk = data;
    if (this.partsBytes > 0) {
      this.parts.push(chunk);
      this.partsBytes += chunk.byteLength;
      if (this.partsBytes < 5) return;
      const need = 5 + Buffer.concat(this.parts, 5).readUInt32BE(1);
      if (this.partsBytes < need) return;
      // One copy: gather the message split across reads.
      chunk = Buffer.concat(this.parts, this.partsBytes);
      this.parts = [];
      this.partsBytes = 0;
    }
    let offset = 0;
    while (chunk.byteLength - offset >= 5) {
      const length = chunk.readUInt32BE(offset + 1);
      if (chunk.byteLength - offset - 5 < length) break;
      onEnvelope(chunk[offset] as number, chunk.subarray(offset + 5, offset + 5 + length));
      offset += 5 + length;
    }
    if (offset < chunk.byteLength) {
      this.parts.push(chunk.subarray(offset));
      this.partsBytes = chunk.byteLength - offset;
    }
  }
}

function envelope(flags: number, message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.byteLength);
  out[0] = flags;
  out.writeUInt32BE(message.byteLength, 1);
  out.set(message, 5);
  return out;
}

/** Throws unless the protocol's status says OK. */
function checkStatus(
  protocol: WireProtocol,
  method: string,
  headers: Headers,
  trailers: Headers,
  endOfStream: { flags: number; data: Uint8Array } | undefined,
): void {
  let code: string | undefined;
  let message = "";
  if (protocol === "grpc") {
    code = String(trailers["grpc-status"] ?? headers["grpc-status"] ?? "");
    message = String(trailers["grpc-message"] ?? headers["grpc-message"] ?? "");
  } else if (protocol === "grpc-web") {
    const text = endOfStream ? Buffer.from(endOfStream.data).toString("latin1") : "";
    code = /grpc-status:\s*(\d+)/i.exec(text)?.[1] ?? String(headers["grpc-status"] ?? "");
    message = /grpc-message:\s*(.*)/i.exec(text)?.[1]?.trim() ?? "";
  } else {
    if (endOfStream === undefined) {
      throw new VerificationError(`${method}: no Connect end-of-stream message`);
    }
    const end = JSON.parse(Buffer.from(endOfStream.data).toString("utf8")) as {
      error?: { code?: string; message?: string };
    };
    code = end.error === undefined ? "0" : end.error.code;
    message = end.error?.message ?? "";
  }
  if (code !== "0") {
    throw new Error(`${method}: status ${code || "missing"} ${decodeURIComponent(message)}`);
  }
}
