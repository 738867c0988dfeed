import { collectDefaultMetrics, Registry } from "prom-client";
import { type CallMetrics, createCallMetrics } from "./call-metrics.js";
import { type ConnectionMetrics, createConnectionMetrics } from "./connection-metrics.js";
import { createImageMetrics, type ImageMetrics } from "./image-metrics.js";
import { createResourceGauges, type ResourceGauges } from "./resource-gauges.js";

/** Options for createMetrics. */
export interface MetricsOptions {
  /**
   * Also collect prom-client's default process and Node.js metrics
   * (process_cpu_seconds_total, process_resident_memory_bytes, nodejs_*),
   * unprefixed as Prometheus names them everywhere. Default true.
   */
  collectDefault?: boolean;
}

/**
 * The server's Prometheus metrics, in a registry of their own (not
 * prom-client's global one), so that two servers in one process don't clash.
 *
 * Ours, all prefixed modelmora_:
 *
 * - calls_total{protocol,http_version,method,code}: finished calls.
 * - errors_total{protocol,http_version,method,code}: finished calls whose code
 *   is not "ok" (canceled included: a dashboard can leave it out).
 * - bytes_sent_total{protocol,http_version,method}: payload bytes sent.
 * - call_duration_seconds{protocol,http_version,method}: histogram of call
 *   durations, callDurationBucketsSeconds.
 * - first_chunk_seconds{protocol,http_version,method}: histogram of the time
 *   to the first response chunk, latencyBucketsSeconds; calls that sent
 *   nothing are not observed.
 * - active_streams{protocol,http_version,method}: streaming calls in flight.
 * - image_generation_seconds{model,renderer}: histogram of render times of
 *   images that were drawn (not cached), latencyBucketsSeconds.
 * - images_total{model,renderer,cached}: images served, cached "true" or "false".
 * - renders_in_progress{state}: images being drawn and encoded now
 *   (state="running") and waiting for a render slot (state="queued"), read
 *   when scraped from the source given to watchRenders.
 * - memory_budget_bytes and memory_bytes{part}: the memory budget of image
 *   streams and what it holds, part "cache", "images" or "write_ahead"
 *   (watchMemory).
 * - open_connections: TCP connections open now (watchConnections).
 * - connections_closed_total{reason}: connections the server closed itself,
 *   reason one of first_byte_timeout, tls_handshake_timeout,
 *   headers_timeout, body_timeout, idle_timeout, ping_timeout, rapid_reset,
 *   connection_limit (refused at once: the server had maxConnections open),
 *   shutdown.
 *
 * Label values are bounded: protocol, http_version and code come from fixed
 * sets (an unknown code counts as "unknown"), and method and model keep the
 * first maxLabelValues values they see, counting later ones as "other". Key
 * ids are never labels.
 *
 * Each group lives in its own file: call-metrics.ts, image-metrics.ts,
 * resource-gauges.ts, connection-metrics.ts.
 */
export interface Metrics extends CallMetrics, ImageMetrics, ResourceGauges, ConnectionMetrics {
  /** The registry the metrics live in, for the server to add its own. */
  readonly registry: Registry;
  /** The Prometheus text exposition (version 0.0.4) of every metric, ours and the defaults. */
  render(): Promise<{ contentType: string; body: string }>;
}

/** Creates a Metrics with a new registry. See MetricsOptions for the defaults. */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.collectDefault ?? true) {
    collectDefaultMetrics({ register: registry });
  }
  const registers = [registry];
  // Own properties only (no class): a cluster worker spreads this object
  // to replace render().
  return {
    registry,
    render: async function render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    ...createCallMetrics(registers),
    ...createImageMetrics(registers),
    ...createResourceGauges(registers),
    ...createConnectionMetrics(registers),
  };
}
