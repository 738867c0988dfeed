import http2 from "node:http2";
import type { CloseReason } from "../observability/index.js";

/** The HTTP/2 bounds of a connection. */
export interface Http2Bounds {
  readonly windowBytes: number;
  readonly headersTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly pingTimeoutMs: number;
  readonly maxResetStreams: number;
}

/** The window over which client resets of HTTP/2 streams are counted, ms. */
const resetWindowMs = 10_000;

/** Guards the HTTP/2 connections of a server. */
export interface Http2SessionGuard {
  /** Takes a new session under guard. */
  guard(session: http2.ServerHttp2Session): void;
  /** Counts a stream its client reset after it reached a handler; past the limit the session is closed. */
  streamReset(session: http2.Http2Session): void;
}

/**
 * Bounds every HTTP/2 connection in time: its first stream must open within
 * headersTimeoutMs, it may go idleTimeoutMs without a stream, and when its
 * socket is silent that long while streams are open it gets a PING that must
 * be answered within pingTimeoutMs. It also widens the connection's receive
 * window, and closes a connection whose client resets more than
 * maxResetStreams streams in 10 s (rapid reset, counted by what reached a
 * handler rather than by frames).
 */
export function createHttp2SessionGuard(
  bounds: Http2Bounds,
  isDraining: () => boolean,
  onClose: (reason: CloseReason) => void,
): Http2SessionGuard {
  const resets = new WeakMap<http2.Http2Session, number[]>();
  return {
    guard(session) {
      session.on("error", () => {});
      session.setLocalWindowSize(bounds.windowBytes);
      let open = 0;
      let idle: NodeJS.Timeout | undefined;
      const closeFor = (reason: CloseReason) => {
        onClose(reason);
        session.destroy();
      };
      const arm = (ms: number, reason: CloseReason) => {
        clearTimeout(idle);
        idle = setTimeout(() => closeFor(reason), ms);
      };
      arm(bounds.headersTimeoutMs, "headers_timeout");
      session.on("stream", (stream) => {
        open += 1;
        clearTimeout(idle);
        stream.once("close", () => {
          open -= 1;
          if (open > 0 || session.closed || session.destroyed) return;
          if (isDraining()) session.close();
          else arm(bounds.idleTimeoutMs, "idle_timeout");
        });
      });
      session.setTimeout(bounds.idleTimeoutMs, () => {
        if (open === 0) return;
        const unanswered = setTimeout(() => closeFor("ping_timeout"), bounds.pingTimeoutMs);
        const sent = session.ping((err) => {
          if (err === null) clearTimeout(unanswered);
        });
        if (!sent) clearTimeout(unanswered);
      });
      session.once("close", () => clearTimeout(idle));
    },
    streamReset(session) {
      if (session.destroyed) return;
      const now = performance.now();
      const recent = (resets.get(session) ?? []).filter((at) => now - at < resetWindowMs);
      recent.push(now);
      resets.set(session, recent);
      if (recent.length > bounds.maxResetStreams) {
        onClose("rapid_reset");
        session.destroy(undefined, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      }
    },
  };
}
