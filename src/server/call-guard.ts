import { Code, ConnectError } from "@connectrpc/connect";
import {
  type Authenticator,
  anonymousPrincipal,
  type Principal,
  type Scope,
} from "../auth/index.js";
import {
  type Limiter,
  type MemoryBudget,
  resourceExhausted,
  type StreamTicket,
} from "../limits/index.js";
import type { Call } from "./call.js";

/**
 * What a call needs: a scope, or "public" for routes anyone may call (health
 * and metrics when configured so). Public calls skip credentials, rate limits
 * and the shutdown check, so probes still get an answer while the server
 * drains.
 */
export type Access = Scope | "public";

/** An image stream let in: count its bytes, release it when its work is gone. */
export interface StreamAdmission {
  /**
   * Counts payload bytes against the key's daily quota; throws
   * RESOURCE_EXHAUSTED once it is used up.
   */
  addBytes(bytes: number): void | Promise<void>;
  /** Frees the stream's slots and memory. Calling it again does nothing. */
  release(): void;
}

/** Options for createCallGuard. */
export interface CallGuardOptions {
  authenticator: Authenticator;
  limiter: Limiter;
  /** The memory budget new streams must fit in. */
  budget: MemoryBudget;
  /** Bytes a new stream reserves in the budget: its write-ahead and one chunk. */
  streamReserveBytes: number;
  /** Whether a render could be queued now. */
  hasRenderRoom(): boolean;
  /** True once the server is shutting down: new calls are refused. */
  isDraining(): boolean;
}

/**
 * The checks every call goes through, whichever protocol carries it, in
 * two steps: admit() as it arrives (shutdown, credentials, scope, rate and
 * quota), and openStream() for an image stream once its request has been
 * read and validated (concurrent streams, render queue, memory). Each
 * refusal is a ConnectError that says what was wrong.
 */
export interface CallGuard {
  admit(headers: Headers, access: Access, call: Call): Promise<Principal>;
  openStream(principal: Principal): Promise<StreamAdmission>;
}

/** Creates the call guard. */
export function createCallGuard(options: CallGuardOptions): CallGuard {
  const { authenticator, limiter, budget } = options;
  return {
    async admit(headers, access, call) {
      if (access === "public") {
        return anonymousPrincipal;
      }
      if (options.isDraining()) {
        throw new ConnectError(
          "server is shutting down; retry on another instance",
          Code.Unavailable,
        );
      }
      const principal = await authenticator.authenticate(headers);
      if (authenticator.enabled) {
        call.keyId = principal.keyId;
      }
      authenticator.authorize(principal, access);
      await limiter.admitCall(principal.keyId, principal.limits);
      return principal;
    },

    async openStream(principal) {
      if (!options.hasRenderRoom()) {
        throw resourceExhausted("the server's render queue is full", 1000);
      }
      const memory = budget.tryReserveStream(options.streamReserveBytes);
      if (memory === undefined) {
        throw resourceExhausted(
          `server memory budget of ${budget.limitBytes} bytes is in use`,
          1000,
        );
      }
      let ticket: StreamTicket;
      try {
        ticket = await limiter.openStream(principal.keyId, principal.limits);
      } catch (err) {
        memory.release();
        throw err;
      }
      return {
        addBytes: (bytes) => ticket.addBytes(bytes),
        release() {
          ticket.release();
          memory.release();
        },
      };
    },
  };
}
