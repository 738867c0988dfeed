import { Counter, Gauge, type Registry } from "prom-client";

/** Why the server closed a connection itself: the reason label of connections_closed_total. */
export const closeReasons = [
  "first_byte_timeout",
  "tls_handshake_timeout",
  "headers_timeout",
  "body_timeout",
  "idle_timeout",
  "ping_timeout",
  "rapid_reset",
  "connection_limit",
  "shutdown",
] as const;

/** One of closeReasons. */
export type CloseReason = (typeof closeReasons)[number];

/**
 * The metrics of connections: open_connections, read from a source at
 * every scrape, and connections_closed_total{reason} (see Metrics).
 */
export interface ConnectionMetrics {
  /** Makes open_connections read from source at every scrape. */
  watchConnections(source: () => number): void;
  /** Counts a connection the server closed, by reason. */
  connectionClosed(reason: CloseReason): void;
}

/** Registers the connection metrics in `registers`. */
export function createConnectionMetrics(registers: Registry[]): ConnectionMetrics {
  let connectionSource: (() => number) | undefined;
  new Gauge({
    name: "modelmora_open_connections",
    help: "TCP connections open now.",
    registers,
    collect() {
      this.set(connectionSource?.() ?? 0);
    },
  });
  const connectionsClosed = new Counter({
    name: "modelmora_connections_closed_total",
    help: "Connections the server closed itself, by reason (a timeout, rapid reset, shutdown).",
    labelNames: ["reason"],
    registers,
  });
  // Every reason from zero, so rate() and alerts see a series before the
  // first close.
  for (const reason of closeReasons) connectionsClosed.inc({ reason }, 0);

  return {
    watchConnections: function watchConnections(source) {
      connectionSource = source;
    },
    connectionClosed: function connectionClosed(reason) {
      connectionsClosed.inc({ reason });
    },
  };
}
