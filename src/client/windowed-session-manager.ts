import type http2 from "node:http2";
import type { Http2SessionManager } from "@connectrpc/connect-node";
import type { Http2StreamSource } from "./http-exchange.js";

/**
 * Wraps connect-node's session manager to widen the connection-level
 * window of each new session: Node has no connect option for it, only
 * ClientHttp2Session.setLocalWindowSize.
 */
export class WindowedSessionManager implements Http2StreamSource {
  private readonly widened = new WeakSet<http2.ClientHttp2Session>();

  constructor(
    private readonly inner: Http2SessionManager,
    /** Connection window to set on each session, in bytes. */
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

  /** Closes the connection; streams in flight fail. */
  abort(): void {
    this.inner.abort();
  }
}
