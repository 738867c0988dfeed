/**
 * Observability: structured call logs (pino) and Prometheus metrics
 * (prom-client), the same for every protocol. The server reports each call
 * once, as a CallSummary, to both.
 */
export { maxLabelValues } from "./bounded-values.js";
export type { CallMetrics, CallStartLabels } from "./call-metrics.js";
export {
  type CallSummary,
  type CodeLabel,
  codeLabelFromCode,
  codeLabels,
  type HttpVersionLabel,
  isCodeLabel,
  type ProtocolLabel,
} from "./call-summary.js";
export {
  type CloseReason,
  type ConnectionMetrics,
  closeReasons,
} from "./connection-metrics.js";
export type { ImageLabels, ImageMetrics } from "./image-metrics.js";
export { callDurationBucketsSeconds, latencyBucketsSeconds } from "./metric-buckets.js";
export { createMetrics, type Metrics, type MetricsOptions } from "./metrics.js";
export { isSecretFieldName, redactedText, redactFields, redactText } from "./redact.js";
export type { MemoryUsage, ResourceGauges } from "./resource-gauges.js";
export {
  callLogLevel,
  createServerLogger,
  type LoggerOptions,
  type LogLevel,
  logLevelFromString,
  logLevels,
  type ServerLogger,
} from "./server-logger.js";
