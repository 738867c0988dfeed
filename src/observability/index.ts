/**
 * Observability: structured call logs (pino) and Prometheus metrics
 * (prom-client), the same for every protocol. The server reports each call
 * once, as a CallSummary, to both.
 */
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
  type CallStartLabels,
  type CloseReason,
  callDurationBucketsSeconds,
  closeReasons,
  createMetrics,
  type ImageLabels,
  latencyBucketsSeconds,
  type MemoryUsage,
  type Metrics,
  type MetricsOptions,
  maxLabelValues,
} from "./metrics.js";
export { isSecretFieldName, redactedText, redactFields, redactText } from "./redact.js";
export {
  callLogLevel,
  createServerLogger,
  type LoggerOptions,
  type LogLevel,
  logLevelFromString,
  logLevels,
  type ServerLogger,
} from "./server-logger.js";
