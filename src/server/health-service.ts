import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type Health,
  type HealthCheckResponse,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../gen/grpc/health/v1/health_pb.js";
import type { Readiness } from "./server-options.js";

/** Whether the server takes calls, and who wants to hear when that changes. */
export interface HealthState {
  readonly serving: boolean;
  /** Sets the state; listeners hear only real changes. */
  setServing(serving: boolean): void;
  /** Calls listener on every change until the returned function is called. */
  subscribe(listener: (serving: boolean) => void): () => void;
}

/** Creates a health state that starts SERVING (or as `serving` says). */
export function createHealthState(serving = true): HealthState {
  const listeners = new Set<(serving: boolean) => void>();
  return {
    get serving() {
      return serving;
    },
    setServing(next) {
      if (next === serving) return;
      serving = next;
      for (const listener of listeners) listener(serving);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/**
 * The health a server reports: its own, and another condition (the
 * cluster's workers all serving, say). Setting it sets the server's own.
 */
export function withReadiness(own: HealthState, readiness: Readiness): HealthState {
  const both = () => own.serving && readiness.serving;
  return {
    get serving() {
      return both();
    },
    setServing: (serving) => own.setServing(serving),
    subscribe(listener) {
      let last = both();
      const update = () => {
        if (both() !== last) {
          last = both();
          listener(last);
        }
      };
      const unsubscribeOwn = own.subscribe(update);
      const unsubscribeReadiness = readiness.subscribe(update);
      return () => {
        unsubscribeOwn();
        unsubscribeReadiness();
      };
    },
  };
}

/** The services this server reports on; "" is the server as a whole. */
const knownServices = new Set(["", "modelmora.InferenceService", "grpc.health.v1.Health"]);

/** Creates the implementation of grpc.health.v1.Health. */
export function createHealthService(state: HealthState): ServiceImpl<typeof Health> {
  const response = (serving: boolean): HealthCheckResponse =>
    create(HealthCheckResponseSchema, {
      status: serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING,
    });

  return {
    check(request) {
      if (!knownServices.has(request.service)) {
        throw new ConnectError(`unknown service "${request.service}"`, Code.NotFound);
      }
      return response(state.serving);
    },

    async *watch(request, context) {
      if (!knownServices.has(request.service)) {
        // The protocol asks Watch to answer SERVICE_UNKNOWN, not to fail, so
        // a service registered later can still be watched.
        yield create(HealthCheckResponseSchema, { status: ServingStatus.SERVICE_UNKNOWN });
        return;
      }
      const changes: boolean[] = [];
      let wake: (() => void) | undefined;
      const unsubscribe = state.subscribe((serving) => {
        changes.push(serving);
        wake?.();
      });
      const onAbort = () => wake?.();
      context.signal.addEventListener("abort", onAbort);
      try {
        yield response(state.serving);
        while (!context.signal.aborted) {
          if (changes.length === 0) {
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
            wake = undefined;
            continue;
          }
          const serving = changes.shift() as boolean;
          yield response(serving);
          if (!serving) {
            // NOT_SERVING only happens on shutdown: end the watch so it does
            // not hold the server open through its grace period.
            return;
          }
        }
      } finally {
        unsubscribe();
        context.signal.removeEventListener("abort", onAbort);
      }
    },
  };
}
