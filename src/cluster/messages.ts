/**
 * The messages the cluster's primary and its workers exchange over the
 * IPC channel of node:cluster. Each carries `modelmora` (its kind), so they
 * can't be confused with other messages on the channel (prom-client's).
 */

/** A worker listens: every worker reports the URL it serves. */
export interface ListeningMessage {
  modelmora: "listening";
  url: string;
  port: number;
  /** The Canvas implementation the worker draws with. */
  renderer: string;
}

/** A worker could not start (a setting found as the server is built, a port in use, ...). */
export interface FatalMessage {
  modelmora: "fatal";
  /** What the CLI would print: a message a user can act on. */
  message: string;
  /** The exit code the CLI would use: 2 for a bad setting, else 1. */
  exitCode: number;
}

/** A worker started shutting down on its own (a signal sent to it alone). */
export interface DrainingMessage {
  modelmora: "draining";
}

/** The primary tells every worker whether all of them serve. */
export interface HealthMessage {
  modelmora: "health";
  serving: boolean;
}

/** The primary tells a worker to drain and exit, as SIGTERM does. */
export interface ShutdownMessage {
  modelmora: "shutdown";
}

/** A worker asks the primary something; the primary answers with a ReplyMessage of the same id. */
export interface RequestMessage {
  modelmora: "request";
  id: number;
  method: string;
  params: unknown;
}

/** The answer to a RequestMessage: a result, or the message of the error it failed with. */
export interface ReplyMessage {
  modelmora: "reply";
  id: number;
  result?: unknown;
  error?: string;
}

/** Any message of ours. */
export type ClusterMessage =
  | ListeningMessage
  | FatalMessage
  | DrainingMessage
  | HealthMessage
  | ShutdownMessage
  | RequestMessage
  | ReplyMessage;

/** True for a message of ours (of any kind). */
export function isClusterMessage(value: unknown): value is ClusterMessage {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { modelmora?: unknown }).modelmora === "string"
  );
}
