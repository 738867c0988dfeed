import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { boundedLabel, maxLabelValues, nonNegative } from "./bounded-values.js";
import {
  type CallSummary,
  type HttpVersionLabel,
  isCodeLabel,
  type ProtocolLabel,
} from "./call-summary.js";
import { callDurationBucketsSeconds, latencyBucketsSeconds } from "./metric-buckets.js";

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

/**
 * The metrics of calls: calls_total, errors_total, bytes_sent_total,
 * call_duration_seconds, first_chunk_seconds and active_streams, all
 * labelled protocol, http_version and method (see Metrics).
 */
export interface CallMetrics {
  /** Counts a call that starts: a streaming one raises active_streams. */
  callStarted(labels: CallStartLabels): void;
  /**
   * Counts a call that has finished, whatever its outcome: a streaming one
   * lowers active_streams, never below zero, so a call that was refused
   * before callStarted can still be reported.
   */
  callFinished(summary: CallSummary & { streaming: boolean }): void;
}

const callLabelNames = ["protocol", "http_version", "method"] as const;

/** Registers the call metrics in `registers`. */
export function createCallMetrics(registers: Registry[]): CallMetrics {
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
  const activeStreams = createActiveStreams(registers);
  const methodLabel = boundedLabel(maxLabelValues);

  function callLabels(call: { protocol: string; httpVersion: string; method: string }) {
    return {
      protocol: call.protocol,
      http_version: call.httpVersion,
      method: methodLabel(call.method),
    };
  }

  return {
    callStarted: function callStarted(call) {
      if (call.streaming) {
        activeStreams.opened(callLabels(call));
      }
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
        activeStreams.closed(labels);
      }
    },
  };
}

type CallLabels = Record<(typeof callLabelNames)[number], string>;

/**
 * modelmora_active_streams, with the streams in flight per label set kept
 * beside it, so that a finish without a start can't drive the gauge below
 * zero.
 */
function createActiveStreams(registers: Registry[]) {
  const gauge = new Gauge({
    name: "modelmora_active_streams",
    help: "Streaming calls in flight.",
    labelNames: callLabelNames,
    registers,
  });
  const inFlight = new Map<string, number>();
  const keyOf = (labels: CallLabels) =>
    JSON.stringify([labels.protocol, labels.http_version, labels.method]);
  return {
    opened(labels: CallLabels): void {
      const key = keyOf(labels);
      inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
      gauge.inc(labels);
    },
    closed(labels: CallLabels): void {
      const key = keyOf(labels);
      const open = inFlight.get(key) ?? 0;
      if (open > 0) {
        if (open === 1) inFlight.delete(key);
        else inFlight.set(key, open - 1);
        gauge.dec(labels);
      }
    },
  };
}
