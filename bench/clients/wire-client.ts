/**
 * A minimal client for the binary RPC protocols (gRPC, gRPC-Web, Connect
 * streaming over protobuf), written against the wire formats with
 * node:http2 / node:http, as the REST and bare rows are. It shows what each
 * protocol costs when the client library adds nothing: the connect-node
 * rows show what a user of the standard client gets. Both run against the
 * same server, so the difference between the two rows is client cost.
 *
 * The body is read with the SDK's own pieces (the package's exports):
 * ResponseDecoder parses every envelope as it arrives, decodes every field
 * but `data` with protobuf-es, and keeps `data` as views of the reads it
 * arrived in, which go to the bench's image assembler as they are (never
 * gathered or copied), where standard clients gather each 1 MB message into
 * one buffer first; the SDK's wire protocols (`wireProtocols`) build the
 * request headers and check the status (grpc-status trailer, gRPC-Web
 * trailer envelope, Connect end-of-stream message) with connect's helpers.
 * What it leaves out, next to the SDK's streamImages: interceptors,
 * deadlines, backpressure and writing the images in place (the bench's
 * assembler keeps the pieces and hashes them after the timed part).
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import http from "node:http";
import http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  createAsyncIterable,
  encodeEnvelope,
  transformSplitEnvelope,
} from "@connectrpc/connect/protocol";
import {
  requestHeader as connectRequestHeader,
  errorFromJsonBytes,
  validateResponse as validateConnectResponse,
} from "@connectrpc/connect/protocol-connect";
import {
  InferenceRequestSchema,
  ListModelsResponseSchema,
  ResponseDecoder,
  type WireProtocolName,
  type WireResponse,
  wireProtocols,
} from "../../src/index.js";
import { type HashingMode, ImageAssembler, VerificationError } from "../verify/index.js";
import { connectHttp2, createCountedAgent, SocketCounter } from "./connections.js";
import type { BenchClient, ExtraHeaders, StreamCall, StreamOutcome } from "./types.js";

/** The binary protocols this client speaks. */
export type WireProtocol = WireProtocolName;

/** Options for createWireBenchClient. */
export interface WireBenchClientOptions {
  baseUrl: string;
  protocol: WireProtocol;
  httpVersion: "1.1" | "2";
  /** HTTP/2 stream and connection window in bytes. */
  windowBytes: number;
  headers?: ExtraHeaders;
}

/** What a POST hands on as its response arrives. */
interface ResponseHandlers {
  /** The status and headers. Throwing ends the call with that error. */
  onResponse(status: number, header: Headers): void;
  /** The next piece of the body, as the socket delivered it. Throwing ends the call. */
  onData(chunk: Buffer): void;
}

/** Largest ListModels answer read, bytes. */
const maxUnaryBytes = 4 * 1024 * 1024;

/** Creates one wire client: one HTTP/2 session or one keep-alive agent. */
export function createWireBenchClient(options: WireBenchClientOptions): BenchClient {
  const sockets = new SocketCounter();
  const url = new URL(options.baseUrl);
  const wire = wireProtocols[options.protocol];
  let agent: http.Agent | undefined;
  let session: http2.ClientHttp2Session | undefined;

  /** POSTs one request; resolves with the HTTP trailers at the end of the body. */
  function post(
    method: string,
    body: Uint8Array,
    header: Headers,
    handlers: ResponseHandlers,
  ): Promise<Headers> {
    const path = `/modelmora.InferenceService/${method}`;
    const headers = Object.fromEntries(header);
    return new Promise<Headers>((resolve, reject) => {
      let settled = false;
      let cancel: () => void = () => {};
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        cancel();
        reject(err);
      };
      /** Runs a handler; an error it throws ends the call. */
      const guarded =
        <A extends unknown[]>(handler: (...args: A) => void) =>
        (...args: A) => {
          if (settled) return;
          try {
            handler(...args);
          } catch (err) {
            fail(err);
          }
        };
      const done = (trailer: Headers) => {
        if (settled) return;
        settled = true;
        resolve(trailer);
      };
      if (options.httpVersion === "2") {
        // A session the server closed (idle timeout, GOAWAY) is replaced by a new one.
        if (session === undefined || session.closed || session.destroyed) {
          session = connectHttp2(options.baseUrl, options.windowBytes, sockets);
        }
        const stream = session.request({ ":method": "POST", ":path": path, ...headers });
        cancel = () => stream.close(http2.constants.NGHTTP2_CANCEL);
        let trailer = new Headers();
        stream.once(
          "response",
          guarded((h: http2.IncomingHttpHeaders) =>
            handlers.onResponse(Number(h[":status"]), headersFrom(h)),
          ),
        );
        stream.on("trailers", (h: http2.IncomingHttpHeaders) => {
          trailer = headersFrom(h);
        });
        stream.on("data", guarded(handlers.onData));
        stream.on("error", fail);
        stream.once("end", () => done(trailer));
        stream.end(body);
        return;
      }
      agent ??= createCountedAgent(sockets);
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: "POST",
          path,
          headers: { ...headers, "content-length": String(body.byteLength) },
          agent,
        },
        (res) => {
          guarded(handlers.onResponse)(res.statusCode ?? 0, headersFrom(res.headers));
          res.on("data", guarded(handlers.onData));
          res.on("error", fail);
          res.once("end", () => done(headersFrom(res.trailers)));
        },
      );
      // Without the error: the socket would emit it where nothing listens any more.
      cancel = () => req.destroy();
      req.on("error", fail);
      req.end(body);
    });
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
      let status: WireResponse | undefined;
      const decoder = new ResponseDecoder({
        onResponse({ response, dataPieces }) {
          status?.beforeMessage();
          chunks++;
          const metadata = response.metadata;
          const index = Number(metadata.image_index);
          assembler.declare(index, Number(metadata.image_bytes), metadata.image_sha256);
          let offset = Number(metadata.chunk_offset);
          for (const piece of dataPieces) {
            assembler.add(index, piece, offset);
            offset += piece.byteLength;
          }
        },
        onControl(flags, data) {
          status?.onControl(flags, data);
        },
      });
      const trailer = await post(
        "StreamInference",
        encodeEnvelope(0, request),
        wire.requestHeader(undefined, options.headers),
        {
          onResponse(code, header) {
            status = wire.openResponse(code, header);
          },
          onData(chunk) {
            if (firstChunkMs < 0) firstChunkMs = performance.now() - started;
            decoder.push(chunk);
          },
        },
      );
      decoder.end();
      status?.finish(trailer);
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
      const parts: Buffer[] = [];
      let code = 0;
      let header = new Headers();
      const collect: ResponseHandlers = {
        onResponse(status, responseHeader) {
          code = status;
          header = responseHeader;
        },
        onData(chunk) {
          parts.push(chunk);
        },
      };
      let models = 0;
      if (options.protocol === "connect") {
        // Connect unary: the message is the whole body, not enveloped; an
        // error is an HTTP status with a JSON body.
        await post(
          "ListModels",
          new Uint8Array(0),
          connectRequestHeader("unary", true, undefined, options.headers, true),
          collect,
        );
        const body = Buffer.concat(parts);
        const validated = validateConnectResponse("unary", true, code, header);
        if (validated.isUnaryError) {
          throw errorFromJsonBytes(body, header, validated.unaryError);
        }
        models = fromBinary(ListModelsResponseSchema, body).models.length;
      } else {
        const trailer = await post(
          "ListModels",
          encodeEnvelope(0, new Uint8Array(0)),
          wire.requestHeader(undefined, options.headers),
          collect,
        );
        const status = wire.openResponse(code, header);
        const envelopes = transformSplitEnvelope(maxUnaryBytes)(
          createAsyncIterable([Buffer.concat(parts)]),
        );
        for await (const envelope of envelopes) {
          if (envelope.flags === 0) {
            status.beforeMessage();
            models = fromBinary(ListModelsResponseSchema, envelope.data).models.length;
          } else {
            status.onControl(envelope.flags, envelope.data);
          }
        }
        status.finish(trailer);
      }
      if (models === 0) throw new VerificationError("ListModels answered with no models");
    },
  };
}

/** Node's response headers as a Headers, without HTTP/2's pseudo-headers (":status"). */
function headersFrom(record: http.IncomingHttpHeaders | http2.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(record)) {
    if (value === undefined || name.startsWith(":")) continue;
    for (const each of Array.isArray(value) ? value : [String(value)]) {
      headers.append(name, each);
    }
  }
  return headers;
}
