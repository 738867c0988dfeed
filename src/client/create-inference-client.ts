import http from "node:http";
import type http2 from "node:http2";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { InferenceService } from "../gen/modelmora/inference_pb.js";

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
  /** Extra interceptors, run before the one that adds headers. */
  interceptors?: Interceptor[];
  /** TLS options (for example `ca` for a self-signed certificate). */
  tls?: tls.ConnectionOptions;
  /**
   * Called with each TCP socket the client opens, for example to count the
   * bytes on the wire (socket.bytesRead).
   */
  onSocket?: (socket: net.Socket) => void;
}

/** A ready client and the means to close its connections. */
export interface InferenceClient {
  readonly client: Client<typeof InferenceService>;
  readonly transport: Transport;
  /** Closes the client's connections. Calls in flight are cancelled. */
  close(): void;
}

/** Default flow-control window: 16 MiB. */
export const defaultWindowBytes = 16 * 1024 * 1024;

/**
 * Creates a client for InferenceService with the settings this project
 * recommends: large HTTP/2 windows, and protocol options that match the
 * server's.
 */
export function createInferenceClient(options: InferenceClientOptions): InferenceClient {
  const httpVersion = options.protocol === "grpc" ? "2" : (options.httpVersion ?? "2");
  if (options.protocol === "grpc" && options.httpVersion === "1.1") {
    throw new Error("gRPC needs HTTP/2; use grpc-web or connect over HTTP/1.1");
  }
  const windowBytes = options.windowBytes ?? defaultWindowBytes;
  const url = new URL(options.baseUrl);
  const secure = url.protocol === "https:";
  const interceptors = [...(options.interceptors ?? [])];
  if (options.headers !== undefined) {
    const headers = options.headers;
    interceptors.push((next) => (req) => {
      for (const [name, value] of Object.entries(headers)) {
        req.header.set(name, value);
      }
      return next(req);
    });
  }

  let close: () => void;
  let transportOptions: Parameters<typeof createConnectTransport>[0];
  if (httpVersion === "2") {
    const sessionOptions: http2.SecureClientSessionOptions = {
      ...options.tls,
      settings: { initialWindowSize: windowBytes },
    };
    if (options.onSocket !== undefined || options.tls !== undefined) {
      const onSocket = options.onSocket;
      sessionOptions.createConnection = () => {
        const port = Number(url.port || (secure ? 443 : 80));
        const socket = secure
          ? tls.connect({
              ...options.tls,
              host: url.hostname,
              port,
              ALPNProtocols: ["h2"],
              servername: servername(url.hostname),
            })
          : net.connect(port, url.hostname);
        onSocket?.(socket);
        return socket;
      };
    }
    const manager = new WindowedSessionManager(
      new Http2SessionManager(url, undefined, sessionOptions),
      windowBytes,
    );
    close = () => manager.abort();
    transportOptions = {
      baseUrl: options.baseUrl,
      httpVersion: "2",
      sessionManager: manager,
      interceptors,
    };
  } else {
    const agent = createAgent(secure, options.tls, options.onSocket);
    close = () => agent.destroy();
    transportOptions = {
      baseUrl: options.baseUrl,
      httpVersion: "1.1",
      nodeOptions: { agent },
      interceptors,
    };
  }

  let transport: Transport;
  switch (options.protocol) {
    case "grpc":
      transport = createGrpcTransport(
        transportOptions as Parameters<typeof createGrpcTransport>[0],
      );
      break;
    case "grpc-web":
      transport = createGrpcWebTransport(transportOptions);
      break;
    case "connect":
      transport = createConnectTransport(transportOptions);
      break;
    case "connect-json":
      transport = createConnectTransport({ ...transportOptions, useBinaryFormat: false });
      break;
    default:
      throw new Error(
        `unknown protocol "${String(options.protocol)}"; one of: ${protocolNames.join(", ")}`,
      );
  }
  return { client: createClient(InferenceService, transport), transport, close };
}

/**
 * Wraps connect-node's session manager to widen the connection-level
 * window of each new session: Node has no connect option for it, only
 * ClientHttp2Session.setLocalWindowSize.
 */
class WindowedSessionManager {
  private readonly widened = new WeakSet<http2.ClientHttp2Session>();
  constructor(
    private readonly inner: Http2SessionManager,
    private readonly windowBytes: number,
  ) {}
  get authority(): string {
    return this.inner.authority;
  }
  async request(
    method: string,
    path: string,
    headers: http2.OutgoingHttpHeaders,
    options: Omit<http2.ClientSessionRequestOptions, "signal">,
  ): Promise<http2.ClientHttp2Stream> {
    const stream = await this.inner.request(method, path, headers, options);
    const session = stream.session as http2.ClientHttp2Session | undefined;
    if (session !== undefined && !this.widened.has(session)) {
      this.widened.add(session);
      session.setLocalWindowSize(this.windowBytes);
    }
    return stream;
  }
  notifyResponseByteRead(stream: http2.ClientHttp2Stream): void {
    this.inner.notifyResponseByteRead(stream);
  }
  abort(): void {
    this.inner.abort();
  }
}

function createAgent(
  secure: boolean,
  tlsOptions: tls.ConnectionOptions | undefined,
  onSocket: ((socket: net.Socket) => void) | undefined,
): http.Agent {
  const agent = secure
    ? new https.Agent({ ...tlsOptions, keepAlive: true })
    : new http.Agent({ keepAlive: true });
  if (onSocket !== undefined) {
    const create = (agent as unknown as { createConnection: (...args: unknown[]) => net.Socket })
      .createConnection;
    (
      agent as unknown as { createConnection: (...args: unknown[]) => net.Socket }
    ).createConnection = function createCountedConnection(this: http.Agent, ...args: unknown[]) {
      const socket = create.apply(this, args);
      onSocket(socket);
      return socket;
    };
  }
  return agent;
}

/** SNI takes host names only, never IP addresses. */
function servername(hostname: string): string | undefined {
  return net.isIP(hostname) === 0 ? hostname : undefined;
}
