/**
 * A bench client whose calls run inside a Chromium page: each stream() is
 * one call of the page's benchmark hooks (modelmoraBench.stream, in
 * web/src/bench-api.ts) through connect-web or fetch, timed in the page
 * with performance.now() and verified there (sizes, SHA-256 with Web
 * Crypto) after its timed part. It has the shape of the bench's
 * BenchClient (bench/clients/types.ts), so a row family can hand it out
 * as it is.
 *
 * Library module of the browser bench; reads no flags or environment.
 */
import type { Page } from "playwright-core";
import { takeNetworkFailures } from "./browser-session.js";

/** The page's protocols: every browser protocol (no plain gRPC: fetch exposes no trailers). */
export type BrowserProtocol = "connect" | "connect-json" | "grpc-web" | "rest";

/** The request every protocol carries. */
export interface BrowserStreamCall {
  readonly modelId: string;
  readonly prompt: string;
  readonly batchSize: number;
}

/** One image as the page received and checked it. */
export interface BrowserVerifiedImage {
  readonly index: number;
  readonly bytes: number;
  readonly sha256: string;
}

/** What one call measured in the page. */
export interface BrowserStreamOutcome {
  /** From the call to its first response body byte, ms (page clock). */
  readonly firstChunkMs: number;
  /** From the call to the end of the response, ms (page clock). */
  readonly totalMs: number;
  /** Image bytes received. */
  readonly payloadBytes: number;
  /** Messages (RPC protocols), or the server's writes counted from image sizes (REST). */
  readonly chunks: number;
  readonly chunksNominal: boolean;
  /** Response body bytes: images plus framing (envelopes, base64 for JSON, multipart heads). */
  readonly bodyBytes: number;
  /** The HTTP version the browser used ("h2", "http/1.1"), as Resource Timing reports it. */
  readonly httpVersion: string;
  /** What the page verified: finish() returns the images or throws what failed. */
  readonly assembler: { finish(): BrowserVerifiedImage[] };
}

/** Options for createBrowserBenchClient. */
export interface BrowserClientOptions {
  readonly protocol: BrowserProtocol;
  /** Headers for every call (the bench's credentials). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The server's chunk size, bytes, to count REST's writes. */
  readonly chunkBytes: number;
}

/** The page-side outcome (web/src/bench-api.ts BenchOutcome). */
interface PageOutcome {
  readonly callError?: string;
  readonly verifyError?: string;
  readonly firstChunkMs: number;
  readonly totalMs: number;
  readonly payloadBytes: number;
  readonly bodyBytes: number;
  readonly messages: number;
  readonly httpVersion: string;
  readonly sha256: readonly string[];
  readonly imageBytes: readonly number[];
}

/** The page's hooks, as the functions run in the page see them. */
interface PageHooks {
  modelmoraBench: {
    stream(call: unknown): Promise<PageOutcome>;
    unary(protocol: string, headers: Record<string, string>): Promise<number>;
  };
}

/** A client of the bench that calls from a browser page. */
export interface BrowserBenchClient {
  stream(call: BrowserStreamCall, hashing?: string): Promise<BrowserStreamOutcome>;
  unary(): Promise<void>;
  /** Sockets are the browser's: not countable from here. */
  readonly sockets: undefined;
  close(): void;
}

/**
 * A client on a page opened by a BrowserSession. Clients of one page share
 * its connections, as requests of one browser tab do.
 */
export function createBrowserBenchClient(
  page: Page,
  options: BrowserClientOptions,
): BrowserBenchClient {
  const headers = { ...options.headers };
  return {
    sockets: undefined,
    async stream(call) {
      const outcome = await page.evaluate(
        (args) => (globalThis as unknown as PageHooks).modelmoraBench.stream(args),
        { ...call, protocol: options.protocol, headers },
      );
      if (outcome.callError !== undefined) {
        const network = takeNetworkFailures(page);
        throw new Error(
          `in the browser: ${outcome.callError}${network.length > 0 ? ` (Chromium: ${[...new Set(network)].join(", ")})` : ""}`,
        );
      }
      const rest = options.protocol === "rest";
      return {
        firstChunkMs: outcome.firstChunkMs,
        totalMs: outcome.totalMs,
        payloadBytes: outcome.payloadBytes,
        chunks: rest
          ? outcome.imageBytes.reduce(
              (sum, bytes) => sum + Math.max(1, Math.ceil(bytes / options.chunkBytes)),
              0,
            )
          : outcome.messages,
        chunksNominal: rest,
        bodyBytes: outcome.bodyBytes,
        httpVersion: outcome.httpVersion,
        assembler: {
          finish() {
            if (outcome.verifyError !== undefined) {
              throw new Error(`verified in the browser: ${outcome.verifyError}`);
            }
            return outcome.sha256.map((sha256, index) => ({
              index,
              bytes: outcome.imageBytes[index] ?? 0,
              sha256,
            }));
          },
        },
      };
    },
    async unary() {
      await page.evaluate(
        (args) =>
          (globalThis as unknown as PageHooks).modelmoraBench.unary(args.protocol, args.headers),
        { protocol: options.protocol, headers },
      );
    },
    close() {
      // The page belongs to the session, which closes it.
    },
  };
}
