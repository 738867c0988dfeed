import type { Registry } from "prom-client";
import {
  type AdmitRequest,
  type AdmitResult,
  createMemoryLimitStore,
  createStoreHealth,
  type LimitStore,
  type LimitStoreLogger,
  type OpenStreamRequest,
  type OpenStreamResult,
  type ReserveBytesRequest,
  remoteBatchBytes,
} from "../limits/index.js";
import type { IpcHandler, IpcPeer } from "./ipc-peer.js";

/**
 * Without Redis, the limits of a server with several workers live in the
 * primary's memory: one in-memory store, which the workers ask over IPC.
 * So a key's rate, quota and stream caps hold across workers as they do in
 * one process. (With --redis-url the workers use Redis directly and the
 * primary keeps nothing.)
 */
export interface PrimaryLimits {
  /** The request handlers to answer one worker with (its IPC peer's handlers). */
  handlersFor(workerId: number): Readonly<Record<string, IpcHandler>>;
  /** A worker is gone: the streams it had open stop counting. */
  workerGone(workerId: number): void;
}

/** Creates the primary's side: one in-memory store for every worker. */
export function createPrimaryLimits(): PrimaryLimits {
  const store = createMemoryLimitStore();
  // Each worker's open streams (id → key), to free them if it dies.
  const openByWorker = new Map<number, Map<string, string>>();

  return {
    handlersFor: (workerId) => ({
      "limits.admit": (params) => store.sync.admit(params as AdmitRequest),
      "limits.openStream": (params) => {
        const request = params as OpenStreamRequest;
        const result = store.sync.openStream(request);
        if (result === "ok") {
          let open = openByWorker.get(workerId);
          if (open === undefined) {
            open = new Map();
            openByWorker.set(workerId, open);
          }
          open.set(request.streamId, request.keyId);
        }
        return result;
      },
      "limits.closeStream": (params) => {
        const { keyId, streamId } = params as { keyId: string; streamId: string };
        openByWorker.get(workerId)?.delete(streamId);
        store.sync.closeStream(keyId, streamId);
      },
      "limits.reserveBytes": (params) => store.sync.reserveBytes(params as ReserveBytesRequest),
      "limits.returnBytes": (params) => {
        const { keyId, day, bytes } = params as { keyId: string; day: number; bytes: number };
        store.sync.returnBytes(keyId, day, bytes);
      },
      "limits.activeStreams": () => {
        const { total, byKey } = store.sync.activeStreams();
        return { total, byKey: [...byKey] };
      },
    }),
    workerGone(workerId) {
      const open = openByWorker.get(workerId);
      openByWorker.delete(workerId);
      for (const [streamId, keyId] of open ?? []) {
        store.sync.closeStream(keyId, streamId);
      }
    },
  };
}

/** Options for createWorkerLimitStore. */
export interface WorkerLimitStoreOptions {
  /** The link to the primary. */
  ipc: IpcPeer;
  /**
   * Bytes a stream reserves from its key's quota per request to the
   * primary. Default 4 MiB (four 1 MB chunks).
   */
  batchBytes?: number;
  /** Where it says the primary did not answer. Default: nowhere. */
  logger?: LimitStoreLogger;
  /** Where the limit store metrics go. Default: none. */
  registry?: Registry;
}

/**
 * Creates a worker's limit store: every operation is a request to the
 * primary (createPrimaryLimits). A request the primary does not answer in
 * time fails, and the limiter fails open, as with an unreachable Redis.
 */
export function createWorkerLimitStore(options: WorkerLimitStoreOptions): LimitStore {
  const { ipc } = options;
  const health = createStoreHealth({
    store: "cluster primary",
    logger: options.logger,
    registry: options.registry,
  });
  health.succeeded();

  async function call(method: string, operation: string, params: unknown): Promise<unknown> {
    try {
      const result = await ipc.call(method, params);
      health.succeeded();
      return result;
    } catch (error) {
      health.failed(operation, error);
      throw error;
    }
  }

  return {
    batchBytes: options.batchBytes ?? remoteBatchBytes,
    admit: async (request) => (await call("limits.admit", "admit", request)) as AdmitResult,
    openStream: async (request) =>
      (await call("limits.openStream", "open_stream", request)) as OpenStreamResult,
    async closeStream(keyId, streamId) {
      await call("limits.closeStream", "close_stream", { keyId, streamId });
    },
    reserveBytes: async (request) =>
      (await call("limits.reserveBytes", "reserve_bytes", request)) as number,
    async returnBytes(keyId, day, bytes) {
      if (bytes > 0) {
        await call("limits.returnBytes", "return_bytes", { keyId, day, bytes });
      }
    },
    async activeStreams() {
      const { total, byKey } = (await call("limits.activeStreams", "count_streams", {})) as {
        total: number;
        byKey: [string, number][];
      };
      return { total, byKey: new Map(byKey) };
    },
  };
}
