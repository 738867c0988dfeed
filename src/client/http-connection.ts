import http from "node:http";
import type http2 from "node:http2";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import { Http2SessionManager } from "@connectrpc/connect-node";
import type { HttpTarget } from "./http-exchange.js";
import { WindowedSessionManager } from "./windowed-session-manager.js";

/** Options for createHttpConnection. */
export interface HttpConnectionOptions {
  /** The server, "http://…" or "https://…". */
  readonly baseUrl: string;
  readonly httpVersion: "1.1" | "2";
  /** HTTP/2 stream and connection flow-control window, in bytes. */
  readonly windowBytes: number;
  /** TLS options for https URLs (for example `ca`). */
  readonly tls?: tls.ConnectionOptions;
  /** Called with each TCP socket opened. */
  readonly onSocket?: (socket: net.Socket) => void;
}

/**
 * A client's connections to one server: an HTTP/2 session (one
 * connection, opened on the first call, reopened after it breaks) or an
 * HTTP/1.1 keep-alive agent. Connect's transports and streamImages share
 * them.
 */
export interface HttpConnection {
  /** Where streamImages sends its requests. */
  readonly target: HttpTarget;
  /** The part of connect-node's transport options that names this connection. */
  readonly transportOptions:
    | { readonly httpVersion: "2"; readonly sessionManager: WindowedSessionManager }
    | { readonly httpVersion: "1.1"; readonly nodeOptions: { readonly agent: http.Agent } };
  /** Closes every connection; calls in flight fail. */
  close(): void;
}

/** Opens nothing yet: connections are made by the first call. */
export function createHttpConnection(options: HttpConnectionOptions): HttpConnection {
  const url = new URL(options.baseUrl);
  const secure = url.protocol === "https:";
  if (options.httpVersion === "2") {
    const sessionOptions: http2.SecureClientSessionOptions = {
      ...options.tls,
      settings: { initialWindowSize: options.windowBytes },
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
    const sessionManager = new WindowedSessionManager(
      new Http2SessionManager(url, undefined, sessionOptions),
      options.windowBytes,
    );
    return {
      target: { httpVersion: "2", sessionManager },
      transportOptions: { httpVersion: "2", sessionManager },
      close: () => sessionManager.abort(),
    };
  }
  const agent = createAgent(secure, options.tls, options.onSocket);
  return {
    target: { httpVersion: "1.1", agent },
    transportOptions: { httpVersion: "1.1", nodeOptions: { agent } },
    close: () => agent.destroy(),
  };
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
