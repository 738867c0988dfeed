import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import {
  type CallSummary,
  type HttpVersionLabel,
  isCodeLabel,
  type ProtocolLabel,
} from "./call-summary.js";

/**
 * Buckets of modelmora_call_duration_seconds, in seconds: 1 ms to 60 s, about
 * three per decade. A ListModels call or a cached image lands in the first
 * few; a large batch streamed over a slow link in the last.
 */
export const callDurationBucketsSeconds: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/**
 * Buckets of modelmora_first_chunk_seconds and
 * modelmora_image_generation_seconds, in seconds: 1 ms to 5 s, about three per
 * decade. A first chunk waits for one image to render, which takes from a few
 * milliseconds (small, or cached) to a few seconds (large); past 5 s only the
 * count matters.
 */
export const latencyBucketsSeconds: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

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

/** The largest number of distinct method (and model) label values; later ones become "other". */
export const maxLabelValues = 64;

/** Options for createMetrics. */
export interface MetricsOptions {
  /**
   * Also collect prom-client's default process and Node.js metrics
   * (process_cpu_seconds_total, process_resident_memory_bytes, nodejs_*),
   * unprefixed as Prometheus names them everywhere. Default true.
   */
  collectDefault?: boolean;
}

/** The labels of a call that starts. */
export interface CallStartLabels {
  /** The protocol the call uses. */
  protocol: ProtocolLabel;
  /** The HTTP version of its connection. */
  httpVersion: HttpVersionLabel;
  /** What is called, from a fixed set (see CallSummary.method). */
  method: string;
  /** True for a server-streaming call, which the active-streams gauge counts. */
  streaming: boolean;
}

/** The labels of a generated image. */
export interface ImageLabels {
  /** The model id, one of the served models. */
  model: string;
  /** The Canvas implementation that drew it: "canvas" or "@napi-rs/canvas". */
  renderer: string;
  /** True when the image came from the cache rather than being drawn. */
  cached: boolean;
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
 */
export interface Metrics {
  /** The registry the metrics live in, for the server to add its own. */
  readonly registry: Registry;
  /** The Prometheus text exposition (version 0.0.4) of every metric, ours and the defaults. */
  render(): Promise<{ contentType: string; body: string }>;
  /** Counts a call that starts: a streaming one raises active_streams. */
  callStarted(labels: CallStartLabels): void;
  /**
   * Counts a call that has finished, whatever its outcome: a streaming one
   * lowers active_streams, never below zero, so a call that was refused
   * before callStarted can still be reported.
   */
  callFinished(summary: CallSummary & { streaming: boolean }): void;
  /**
   * Counts an image served. Only an image that was drawn (cached false)
   * observes its render time, in seconds, in image_generation_seconds.
   */
  imageGenerated(labels: ImageLabels, seconds: number): void;
  /** Makes renders_in_progress read from source at every scrape. */
  watchRenders(source: () => { running: number; queued: number }): void;
  /** Makes memory_budget_bytes and memory_bytes read from source at every scrape. */
  watchMemory(source: () => MemoryUsage): void;
  /** Makes open_connections read from source at every scrape. */
  watchConnections(source: () => number): void;
  /** Counts a connection the server closed, by reason. */
  connectionClosed(reason: CloseReason): void;
}

/** What the memory budget holds, in bytes. */
export interface MemoryUsage {
  readonly limit: number;
  readonly cache: number;
  readonly images: number;
  readonly writeAhead: number;
}

const callLabelNames = ["protocol", "http_version", "method"] as const;

/** Creates a Metrics with a new registry. See MetricsOptions for the defaults. */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.collectDefault ?? true) {
    collectDefaultMetrics({ register: registry });
  }
  const registers = [registry];

  const calls = new Counter({
    name: "modelmora_calls_total",
    help: "Finished calls, by protocol, HTTP version, method and Connect code.",
    labelNames: [...callLabelNames, "code"],
    registers,
  });
  const errors = new Counter({
    name: "modelmora_errors_total",
    help: "Finished calls whose code is not ok, by protocol, HTTP version, method and Connect code.",
    labelNames: [...callLabelNames, "code"],
    registers,
  });
  const bytesSent = new Counter({
    name: "modelmora_bytes_sent_total",
    help: "Payload bytes sent to clients: image bytes for streams, body bytes otherwise.",
    labelNames: callLabelNames,
    registers,
  });
  const callDuration = new Histogram({
    name: "modelmora_call_duration_seconds",
    help: "Time from the start of a call to its end, in seconds.",
    labelNames: callLabelNames,
    buckets: [...callDurationBucketsSeconds],
    registers,
  });
  const firstChunk = new Histogram({
    name: "modelmora_first_chunk_seconds",
    help: "Time from the start of a call to its first response chunk, in seconds.",
    labelNames: callLabelNames,
    buckets: [...latencyBucketsSeconds],
    registers,
  });
  const activeStreams = new Gauge({
    name: "modelmora_active_streams",
    help: "Streaming calls in flight.",
    labelNames: callLabelNames,
    registers,
  });
  const imageGeneration = new Histogram({
    name: "modelmora_image_generation_seconds",
    help: "Time to draw and encode one image that was not in the cache, in seconds.",
    labelNames: ["model", "renderer"],
    buckets: [...latencyBucketsSeconds],
    registers,
  });
  const images = new Counter({
    name: "modelmora_images_total",
    help: "Images served, drawn (cached=false) or from the cache (cached=true).",
    labelNames: ["model", "renderer", "cached"],
    registers,
  });

  let renderSource: (() => { running: number; queued: number }) | undefined;
  new Gauge({
    name: "modelmora_renders_in_progress",
    help: "Images being drawn and encoded (state=running) or waiting for a render slot (state=queued).",
    labelNames: ["state"],
    registers,
    collect() {
      const stats = renderSource?.() ?? { running: 0, queued: 0 };
      this.set({ state: "running" }, stats.running);
      this.set({ state: "queued" }, stats.queued);
    },
  });

  let memorySource: (() => MemoryUsage) | undefined;
  new Gauge({
    name: "modelmora_memory_budget_bytes",
    help: "The memory budget of image streams: cache, images held by streams and write-ahead buffers.",
    registers,
    collect() {
      this.set(memorySource?.().limit ?? 0);
    },
  });
  new Gauge({
    name: "modelmora_memory_bytes",
    help: "Memory counted against the budget, by part: cache, images (held by streams), write_ahead.",
    labelNames: ["part"],
    registers,
    collect() {
      const usage = memorySource?.() ?? { cache: 0, images: 0, writeAhead: 0 };
      this.set({ part: "cache" }, usage.cache);
      this.set({ part: "images" }, usage.images);
      this.set({ part: "write_ahead" }, usage.writeAhead);
    },
  });
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

  const methodLabel = boundedLabel(maxLabelValues);
  const modelLabel = boundedLabel(maxLabelValues);
  const rendererLabel = boundedLabel(8);
  // Streams in flight per label set, kept here so a finish without a start
  // can't drive the gauge below zero.
  const inFlight = new Map<string, number>();

  function callLabels(call: { protocol: string; httpVersion: string; method: string }) {
    return {
      protocol: call.protocol,
      http_version: call.httpVersion,
      method: methodLabel(call.method),
    };
  }

  return {
    registry,
    render: async function render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    callStarted: function callStarted(call) {
      if (!call.streaming) {
        return;
      }
      const labels = callLabels(call);
      const key = labelKey(labels);
      inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
      activeStreams.inc(labels);
    },
    callFinished: function callFinished(summary) {
      const labels = callLabels(summary);
      const code = isCodeLabel(summary.code) ? summary.code : "unknown";
      calls.inc({ ...labels, code });
      if (code !== "ok") {
        errors.inc({ ...labels, code });
      }
      // Counters reject negative increments; zero still creates the series,
      // so every protocol shows up on the dashboard once it was called.
      bytesSent.inc(labels, nonNegative(summary.bytesSent));
      callDuration.observe(labels, nonNegative(summary.durationMs) / 1000);
      if (summary.firstChunkMs !== undefined) {
        firstChunk.observe(labels, nonNegative(summary.firstChunkMs) / 1000);
      }
      if (summary.streaming) {
        const key = labelKey(labels);
        const open = inFlight.get(key) ?? 0;
        if (open > 0) {
          if (open === 1) inFlight.delete(key);
          else inFlight.set(key, open - 1);
          activeStreams.dec(labels);
        }
      }
    },
    watchRenders: function watchRenders(source) {
      renderSource = source;
    },
    watchMemory: function watchMemory(source) {
      memorySource = source;
    },
    watchConnections: function watchConnections(source) {
      connectionSource = source;
    },
    connectionClosed: function connectionClosed(reason) {
      connectionsClosed.inc({ reason });
    },
    imageGenerated: function imageGenerated(image, seconds) {
      const labels = { model: modelLabel(image.model), renderer: rendererLabel(image.renderer) };
      images.inc({ ...labels, cached: image.cached ? "true" : "false" });
      if (!image.cached) {
        imageGeneration.observe(labels, nonNegative(seconds));
      }
    },
  };
}

/**
 * A label mapping that passes its first `limit` distinct values through and
 * turns every later one into "other", so a bug that passes request data as a
 * label can't grow the series without bound.
 */
function boundedLabel(limit: number): (value: string) => string {
  const seen = new Set<string>();
  return function label(value) {
    if (seen.has(value)) {
      return value;
    }
    if (seen.size >= limit) {
      return "other";
    }
    seen.add(value);
    return value;
  };
}

function labelKey(labels: Record<string, string>): string {
  return JSON.stringify([labels.protocol, labels.http_version, labels.method]);
}

function nonNegative(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}
