import { pino } from "pino";
import type { CallSummary } from "./call-summary.js";
import { redactFields, redactText } from "./redact.js";

/** Log levels, least to most severe; "silent" writes nothing. */
export const logLevels = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

/** One of logLevels. */
export type LogLevel = (typeof logLevels)[number];

/**
 * The log level named by a flag or environment variable, ignoring case and
 * surrounding spaces. Throws an Error naming the accepted levels otherwise.
 */
export function logLevelFromString(text: string): LogLevel {
  const level = text.trim().toLowerCase();
  if ((logLevels as readonly string[]).includes(level)) {
    return level as LogLevel;
  }
  throw new Error(`log level must be one of ${logLevels.join(", ")}, got "${text}"`);
}

/** Options for createServerLogger. */
export interface LoggerOptions {
  /** The least severe level written. Default "info". */
  level?: LogLevel;
  /**
   * Where the JSON lines go. Default process.stderr (file descriptor 2),
   * written synchronously so that no line is lost when the process exits.
   * Tests pass a stream to capture the lines.
   */
  destination?: NodeJS.WritableStream;
}

/**
 * A structured JSON logger, one line per event. It has the shape of the
 * server's Logger (info, warn, error), plus debug and call.
 *
 * Each line carries `level` (a name such as "info"), `time` (ISO 8601),
 * `pid`, `hostname`, `msg` and the fields given. Fields named like a
 * credential (key, api_key, token, authorization, password, secret, ...; see
 * isSecretFieldName) are replaced by "[redacted]" at any depth, and bearer
 * credentials or JWTs inside strings too. The server never passes them: this
 * is belt and braces. Fields named level, time, msg, pid or hostname are
 * renamed field_level, field_time, ... so they can't clash with the line's own.
 */
export interface ServerLogger {
  /** Writes a line at level debug. */
  debug(message: string, fields?: Record<string, unknown>): void;
  /** Writes a line at level info. */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Writes a line at level warn. */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** Writes a line at level error. */
  error(message: string, fields?: Record<string, unknown>): void;
  /**
   * Writes one line for a finished call, with msg "call" and the fields
   * protocol, http_version, method, code, bytes, duration_ms, first_chunk_ms,
   * key_id, request_id, ended_by and error (fields that are undefined are left out;
   * times in milliseconds, rounded to the microsecond). The level follows
   * from the code, as callLogLevel says.
   */
  call(summary: CallSummary): void;
}

/**
 * The level of a call's log line, from its code:
 *
 * - info: ok, and canceled or aborted, a client that hung up, which is normal.
 * - warn: what the client or the load caused and an operator may want to see
 *   but not be paged for: invalid_argument, not_found, already_exists,
 *   permission_denied, unauthenticated, resource_exhausted,
 *   failed_precondition, out_of_range, deadline_exceeded, unimplemented, and
 *   unavailable (what streams cut off by a shutdown end with).
 * - error: everything else, which means a server fault: internal, unknown,
 *   data_loss, and any code this list doesn't know.
 */
export function callLogLevel(code: string): "info" | "warn" | "error" {
  if (infoCodes.has(code)) return "info";
  if (warnCodes.has(code)) return "warn";
  return "error";
}

const infoCodes = new Set(["ok", "canceled", "aborted"]);
const warnCodes = new Set([
  "invalid_argument",
  "not_found",
  "already_exists",
  "permission_denied",
  "unauthenticated",
  "resource_exhausted",
  "failed_precondition",
  "out_of_range",
  "deadline_exceeded",
  "unimplemented",
  "unavailable",
]);

/** Keys pino writes itself; a field with one of these names would make a duplicate key. */
const reservedKeys = new Set(["level", "time", "msg", "pid", "hostname"]);

/** Creates a ServerLogger backed by pino. See LoggerOptions for the defaults. */
export function createServerLogger(options: LoggerOptions = {}): ServerLogger {
  const logger = pino(
    {
      level: options.level ?? "info",
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level names rather than pino's numbers, so `grep '"level":"error"'` works.
      formatters: { level: (label) => ({ level: label }) },
      // redactFields has already turned errors into plain objects; pino's
      // default err serializer would add a misleading "type":"Object".
      serializers: { err: (value: unknown) => value },
    },
    options.destination ?? pino.destination({ dest: 2, sync: true }),
  );

  function write(
    level: "debug" | "info" | "warn" | "error",
    message: string,
    fields: Record<string, unknown> | undefined,
  ): void {
    if (!logger.isLevelEnabled(level)) {
      return;
    }
    logger[level](safeFields(fields), redactText(message));
  }

  return {
    debug: function debug(message, fields) {
      write("debug", message, fields);
    },
    info: function info(message, fields) {
      write("info", message, fields);
    },
    warn: function warn(message, fields) {
      write("warn", message, fields);
    },
    error: function error(message, fields) {
      write("error", message, fields);
    },
    call: function call(summary) {
      write(callLogLevel(summary.code), "call", {
        protocol: summary.protocol,
        http_version: summary.httpVersion,
        method: summary.method,
        code: summary.code,
        bytes: summary.bytesSent,
        duration_ms: roundMs(summary.durationMs),
        first_chunk_ms:
          summary.firstChunkMs === undefined ? undefined : roundMs(summary.firstChunkMs),
        key_id: summary.keyId,
        request_id: summary.requestId,
        ended_by: summary.endedBy,
        error: summary.error,
      });
    },
  };
}

function safeFields(fields: Record<string, unknown> | undefined): Record<string, unknown> {
  if (fields === undefined) {
    return {};
  }
  const out = redactFields(fields);
  for (const key of Object.keys(out)) {
    if (reservedKeys.has(key)) {
      out[`field_${key}`] = out[key];
      delete out[key];
    }
  }
  return out;
}

/** Milliseconds to three decimals: microseconds are plenty, and lines stay short. */
function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
