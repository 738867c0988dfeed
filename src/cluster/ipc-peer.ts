import type { Worker } from "node:cluster";
import { isClusterMessage, type ReplyMessage, type RequestMessage } from "./messages.js";

/** One end of an IPC channel: a worker's `process`, or the primary's `Worker` object. */
export interface IpcChannel {
  /** Sends a message; the callback hears whether it went. */
  send(message: unknown, callback: (error: Error | null) => void): void;
  /** Calls listener with every message that arrives, until the returned function is called. */
  subscribe(listener: (message: unknown) => void): () => void;
  /** True while the channel is open. */
  connected(): boolean;
}

/** Answers one method: params in, a result (or a promise of one) out; throwing answers the error. */
export type IpcHandler = (params: unknown) => unknown;

/** Options for createIpcPeer. */
export interface IpcPeerOptions {
  /** The methods this end answers, by name. Default: none. */
  handlers?: Readonly<Record<string, IpcHandler>>;
  /** How long a call waits for its answer, in ms. Default 1000. */
  timeoutMs?: number;
}

/** Request and reply over an IPC channel, in both directions. */
export interface IpcPeer {
  /**
   * Asks the other end and resolves with its answer. Rejects when it answers
   * with an error, when the channel is closed, or after timeoutMs without
   * an answer.
   */
  call(method: string, params: unknown, timeoutMs?: number): Promise<unknown>;
  /** Stops listening and answering; calls still waiting are rejected. */
  close(): void;
}

/**
 * Creates one end of request/reply over a cluster IPC channel. Both ends
 * may call and answer; each request waits at most its timeout. An unknown
 * method, or a handler that throws, answers with the error's message.
 */
export function createIpcPeer(channel: IpcChannel, options: IpcPeerOptions = {}): IpcPeer {
  const defaultTimeoutMs = options.timeoutMs ?? 1000;
  const handlers = options.handlers ?? {};
  const pending = new Map<
    number,
    { resolve(value: unknown): void; reject(error: Error): void; timer: NodeJS.Timeout }
  >();
  let nextId = 1;

  function answer(request: RequestMessage): void {
    const reply = (fields: Pick<ReplyMessage, "result" | "error">) => {
      if (channel.connected()) {
        const message: ReplyMessage = { modelmora: "reply", id: request.id, ...fields };
        channel.send(message, () => {});
      }
    };
    const handler = handlers[request.method];
    if (handler === undefined) {
      reply({ error: `unknown method ${request.method}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(request.params))
      .then(
        (result) => reply({ result }),
        (error: unknown) =>
          reply({ error: error instanceof Error ? error.message : String(error) }),
      );
  }

  const unsubscribe = channel.subscribe(function onIpcMessage(message) {
    if (!isClusterMessage(message)) return;
    if (message.modelmora === "request") {
      answer(message);
      return;
    }
    if (message.modelmora !== "reply") return;
    const waiting = pending.get(message.id);
    if (waiting === undefined) return; // Timed out already.
    pending.delete(message.id);
    clearTimeout(waiting.timer);
    if (message.error !== undefined) {
      waiting.reject(new Error(message.error));
    } else {
      waiting.resolve(message.result);
    }
  });

  return {
    call(method, params, timeoutMs = defaultTimeoutMs) {
      return new Promise((resolve, reject) => {
        if (!channel.connected()) {
          reject(new Error(`cannot ask ${method}: the IPC channel is closed`));
          return;
        }
        const id = nextId++;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`no answer to ${method} within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer });
        const request: RequestMessage = { modelmora: "request", id, method, params };
        channel.send(request, (error) => {
          if (error !== null && pending.delete(id)) {
            clearTimeout(timer);
            reject(error);
          }
        });
      });
    },
    close() {
      unsubscribe();
      for (const [id, waiting] of pending) {
        pending.delete(id);
        clearTimeout(waiting.timer);
        waiting.reject(new Error("the IPC channel is closed"));
      }
    },
  };
}

/** The channel of a cluster worker to its primary. Only in a worker. */
export function primaryChannel(): IpcChannel {
  return {
    send(message, callback) {
      if (process.send === undefined) {
        callback(new Error("not a cluster worker"));
        return;
      }
      process.send(message, undefined, undefined, (error) => callback(error ?? null));
    },
    subscribe(listener) {
      process.on("message", listener);
      return () => process.off("message", listener);
    },
    connected: () => process.connected === true,
  };
}

/** The primary's channel to one worker. */
export function workerChannel(worker: Worker): IpcChannel {
  return {
    send(message, callback) {
      worker.send(message as never, undefined, (error) => callback(error ?? null));
    },
    subscribe(listener) {
      worker.on("message", listener);
      return () => worker.off("message", listener);
    },
    connected: () => worker.isConnected(),
  };
}
