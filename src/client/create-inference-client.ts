import type net from "node:net";
import type tls from "node:tls";
import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createAsyncIterable } from "@connectrpc/connect/protocol";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { InferenceService } from "../gen/modelmora/inference_pb.js";
import { createHttpConnection, type HttpConnection } from "./http-connection.js";
import { defaultMaxMessageBytes } from "./response-decoder.js";
import { createStreamImages, type StreamImages } from "./stream-images.js";
import type { WindowedSessionManager } from "./windowed-session-manager.js";
import { wireProtocols } from "./wire/index.js";
import { callStreamInference } from "./wire-call.js";

/** The protocols a client can speak to a ModelMora server. */
export type ProtocolName = "grpc" | "grpc-web" | "connect" | "connect-json";

/** Every protocol name, in the order the docs list them. */
export const protocolNames: readonly ProtocolName[] = [
  "grpc",
  "grpc-web",
  "connect",
  "connect-json",
];

/** Options for createInferenceClient. */
export interface InferenceClientOptions {
  /** The server, for example "http://localhost:8080" or "https://…". */
  baseUrl: string;
  /** The protocol to speak. */
  protocol: ProtocolName;
  /**
   * HTTP version. gRPC needs "2"; the others work over both. Default "2".
   */
  httpVersion?: "1.1" | "2";
  /**
   * HTTP/2 flow-control window of each stream and of the connection, in
   * bytes. The protocol's default is 65,535 bytes, which caps a stream of
   * 1 MB chunks at about a quarter of what loopback carries; 16 MiB lets a
   * stream run at the speed of the link. Default 16 MiB. HTTP/2 only.
   */
  windowBytes?: number;
  /** Headers sent with every call, for example an API key. */
  headers?: Record<string, string>;
  /** Extra interceptors, run before the one that adds headers (streamImages runs them too). */
  interceptors?: Interceptor[];
  /** TLS options (for example `ca` for a self-signed certificate). */
  tls?: tls.ConnectionOptions;
  /**
   * Called with each TCP socket the client opens, for example to count the
   * bytes on the wire (socket.bytesRead).
   */
  onSocket?: (socket: net.Socket) => void;
  /**
   * Largest response message streamImages accepts over the binary
   * protocols, in bytes (RESOURCE_EXHAUSTED past it). Default 64 MiB.
   */
  maxMessageBytes?: number;
}

/**
 * The generated client of InferenceService (`streamInference`,
 * `listModels`), and streamImages, which yields whole, verified images.
 */
export type ModelMoraClient = Client<typeof InferenceService> & {
  /**
   * Streams a batch of images, each whole and SHA-256 checked:
   *
   *   for await (const image of client.streamImages({ modelId, prompt, batchSize })) {
   *     image.index, image.bytes, image.sha256, image.width, image.height
   *   }
   *
   * Over gRPC, gRPC-Web and Connect it reads the wire format itself and
   * writes each chunk's bytes straight into its image's buffer (one copy);
   * over Connect JSON it reads the messages of the Connect client. Leaving
   * the loop early cancels the call on the server. See StreamImages.
   */
  readonly streamImages: StreamImages;
};

/** A ready client and the means to close its connections. */
export interface InferenceClient {
  readonly client: ModelMoraClient;
  /** The Connect transport the generated client uses. */
  readonly transport: Transport;
  /** Closes the client's connections. Calls in flight are cancelled. */
  close(): void;
}

/** Default flow-control window: 16 MiB. */
export const defaultWindowBytes = 16 * 1024 * 1024;

/**
 * Creates a client for InferenceService with the settings this project
 * recommends: large HTTP/2 windows, and protocol options that match the
 * server's. No connection is made until the first call.
 */
export function createInferenceClient(options: InferenceClientOptions): InferenceClient {
  if (!protocolNames.includes(options.protocol)) {
    throw new Error(
      `unknown protocol "${String(options.protocol)}"; one of: ${protocolNames.join(", ")}`,
    );
  }
  if (options.protocol === "grpc" && options.httpVersion === "1.1") {
    throw new Error("gRPC needs HTTP/2; use grpc-web or connect over HTTP/1.1");
  }
  const connection = createHttpConnection({
    baseUrl: options.baseUrl,
    httpVersion: options.httpVersion ?? "2",
    windowBytes: options.windowBytes ?? defaultWindowBytes,
    tls: options.tls,
    onSocket: options.onSocket,
  });
  const interceptors = [...(options.interceptors ?? [])];
  if (options.headers !== undefined) interceptors.push(setHeaders(options.headers));
  const transport = createTransport(options.protocol, options.baseUrl, interceptors, connection);

  const streamImages =
    options.protocol === "connect-json"
      ? createStreamImages((request, call) =>
          transport.stream(
            InferenceService.method.streamInference,
            call.signal,
            call.timeoutMs,
            call.headers,
            createAsyncIterable([request]),
            call.contextValues,
          ),
        )
      : createStreamImages((request, call) =>
          callStreamInference(
            {
              baseUrl: options.baseUrl,
              target: connection.target,
              protocol: wireProtocols[options.protocol as keyof typeof wireProtocols],
              interceptors,
              maxMessageBytes: options.maxMessageBytes ?? defaultMaxMessageBytes,
            },
            request,
            call,
          ),
        );
  const client: ModelMoraClient = Object.assign(createClient(InferenceService, transport), {
    streamImages,
  });
  return { client, transport, close: () => connection.close() };
}

/** An interceptor that sets `headers` on every request. */
function setHeaders(headers: Readonly<Record<string, string>>): Interceptor {
  return (next) => (req) => {
    for (const [name, value] of Object.entries(headers)) {
      req.header.set(name, value);
    }
    return next(req);
  };
}

/** connect-node's transport for `protocol`, over `connection`. */
function createTransport(
  protocol: ProtocolName,
  baseUrl: string,
  interceptors: Interceptor[],
  connection: HttpConnection,
): Transport {
  const transportOptions = { baseUrl, interceptors, ...connection.transportOptions };
  switch (protocol) {
    case "grpc": {
      // gRPC over HTTP/1.1 is refused before this: the connection is HTTP/2.
      const { sessionManager } = connection.transportOptions as {
        sessionManager: WindowedSessionManager;
      };
      return createGrpcTransport({ baseUrl, interceptors, sessionManager });
    }
    case "grpc-web":
      return createGrpcWebTransport(transportOptions);
    case "connect":
      return createConnectTransport(transportOptions);
    case "connect-json":
      return createConnectTransport({ ...transportOptions, useBinaryFormat: false });
  }
}
