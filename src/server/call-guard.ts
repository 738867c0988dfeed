import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import type { Authenticator, Principal, Scope } from "../auth/index.js";
import type { Limiter, StreamTicket } from "../limits/index.js";
import { type CallRecord, splicedPayload } from "./call-record.js";

/**
 * What a call needs: a scope, or "public" for routes anyone may call (health
 * and metrics when configured so). Public calls skip credentials, rate limits
 * and the shutdown check, so probes still get an answer while the server
 * drains.
 */
export type Access = Scope | "public";

/** A call let in, and its hold on the stream limits. */
export interface Admission {
  readonly principal: Principal | undefined;
  /** Set for image streams: count bytes with it, release it at the end. */
  readonly ticket: StreamTicket | undefined;
}

/** Options for createCallGuard. */
export interface CallGuardOptions {
  authenticator: Authenticator;
  limiter: Limiter;
  /** True once the server is shutting down: new calls are refused. */
  isDraining(): boolean;
}

/**
 * The checks every call goes through, in order, whichever protocol carries
 * it: shutdown, credentials, scope, rate and quota, concurrent streams.
 * Each refusal is a ConnectError that says what was wrong.
 */
export interface CallGuard {
  admit(
    headers: Headers,
    access: Access,
    imageStream: boolean,
    call: CallRecord,
  ): Promise<Admission>;
}

/** Creates the call guard. */
export function createCallGuard(options: CallGuardOptions): CallGuard {
  const { authenticator, limiter } = options;
  return {
    async admit(headers, access, imageStream, call) {
      if (access === "public") {
        return { principal: undefined, ticket: undefined };
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
      const ticket = imageStream
        ? await limiter.openStream(principal.keyId, principal.limits)
        : undefined;
      return { principal, ticket };
    },
  };
}

/** Carries the CallRecord of a request into Connect interceptors. */
export const callRecordKey = createContextKey<CallRecord | undefined>(undefined, {
  description: "modelmora call record",
});

/**
 * Runs the guard for RPCs and records their outcome. accessOf names what a
 * method needs ("Service/Method" keys); imageStreams lists the methods whose
 * responses count against stream limits and byte quotas.
 */
export function createGuardInterceptor(
  guard: CallGuard,
  accessOf: ReadonlyMap<string, Access>,
  imageStreams: ReadonlySet<string>,
): Interceptor {
  return (next) => async (req) => {
    const call = req.contextValues.get(callRecordKey);
    const name = `${req.service.typeName}/${req.method.name}`;
    const access = accessOf.get(name) ?? "inference";
    if (call === undefined) {
      return next(req);
    }
    let admission: Admission;
    try {
      admission = await guard.admit(req.header, access, imageStreams.has(name), call);
    } catch (err) {
      call.error = ConnectError.from(err);
      throw err;
    }
    const { ticket } = admission;
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (err) {
      call.error = ConnectError.from(err);
      ticket?.release();
      throw err;
    }
    if (!res.stream) {
      call.ok = true;
      ticket?.release();
      return res;
    }
    const messages = res.message;
    const record = call;
    async function* observed() {
      try {
        for await (const message of messages) {
          if (ticket !== undefined) {
            const chunk = message as { data?: Uint8Array; [splicedPayload]?: Uint8Array };
            await ticket.addBytes(
              (chunk.data?.byteLength ?? 0) + (chunk[splicedPayload]?.byteLength ?? 0),
            );
          }
          yield message;
        }
        record.ok = true;
      } catch (err) {
        record.error = ConnectError.from(err);
        throw err;
      } finally {
        ticket?.release();
      }
    }
    return { ...res, message: observed() };
  };
}
