import { cors as connectCors } from "@connectrpc/connect";
import { ModelMoraError } from "../errors.js";
import type { WebRequest, WebResponse } from "./http-types.js";
import { addVary } from "./vary-header.js";

/**
 * Request headers a page on another origin may send: connect-es's list for
 * Connect, gRPC-Web and gRPC (`cors.allowedHeaders`), plus this server's
 * credentials, which a browser page sends as headers (never cookies).
 */
export const corsAllowedHeaders: readonly string[] = [
  ...connectCors.allowedHeaders,
  "Authorization",
  "X-Api-Key",
];

/**
 * Response headers a page on another origin may read: connect-es's list
 * (`cors.exposedHeaders`: grpc-status and grpc-message, which gRPC-Web
 * sends as headers in a trailers-only error, and the encodings), plus this
 * server's metadata: the request id, the REST image headers (a batch of one
 * answers a bare PNG whose size and SHA-256 are only in headers) and
 * retry-after on resource_exhausted.
 */
export const corsExposedHeaders: readonly string[] = [
  ...connectCors.exposedHeaders,
  "Retry-After",
  "X-Request-Id",
  "X-Image-Index",
  "X-Image-Bytes",
  "X-Image-Sha256",
  "X-Image-Width",
  "X-Image-Height",
];

/**
 * Methods a page on another origin may use: connect-es's list
 * (`cors.allowedMethods`, POST and GET), which also covers the REST routes
 * (HEAD needs no preflight).
 */
export const corsAllowedMethods: readonly string[] = [...connectCors.allowedMethods];

/** Options for createCors. */
export interface CorsOptions {
  /**
   * Origins whose pages may call the server, such as
   * "https://app.example.com" (scheme, host and port; see
   * corsOriginFromString), or "*" for any origin. Default none: no CORS
   * headers at all, so only pages the server serves itself can call it.
   * "*" is safe to the extent that credentials here are headers a page must
   * hold itself (an API key or a token), never cookies a browser would add.
   */
  origins?: readonly string[];
  /**
   * How long a browser may cache a preflight answer, in seconds (the
   * Access-Control-Max-Age header). Default 7200, Chromium's upper bound.
   */
  maxAgeSeconds?: number;
}

/** CORS for every route of the server: RPCs, REST and the page. */
export interface Cors {
  /** Whether any origin is allowed; false when CorsOptions.origins is empty. */
  readonly enabled: boolean;
  /**
   * Answers a CORS preflight (OPTIONS with Origin and
   * Access-Control-Request-Method) from an allowed origin with 204 and the
   * allowed methods and headers, and returns true. Returns false, having
   * written nothing, for any other request: a preflight from an origin not
   * allowed then gets the route's usual answer (405 or 404) without CORS
   * headers, which the browser reports as a CORS failure.
   */
  preflight(req: WebRequest, res: WebResponse): boolean;
  /**
   * Sets the CORS headers of a response to an allowed origin
   * (Access-Control-Allow-Origin, -Expose-Headers, Timing-Allow-Origin);
   * call it before the response's headers are written. Adds Vary: Origin
   * whenever the answer depends on the origin.
   */
  apply(req: WebRequest, res: WebResponse): void;
}

/**
 * Checks and normalizes one allowed origin: "*", or an http(s) URL with no
 * path, query or credentials, reduced to its origin the way a browser sends
 * it in the Origin header ("HTTPS://App.Example.com:443/" becomes
 * "https://app.example.com"). Throws ModelMoraError "config" otherwise.
 */
export function corsOriginFromString(text: string): string {
  const trimmed = text.trim();
  if (trimmed === "*") {
    return "*";
  }
  let url: URL | undefined;
  try {
    url = new URL(trimmed);
  } catch {
    url = undefined;
  }
  if (
    url === undefined ||
    (url.protocol !== "http:" && url.protocol !== "https:") ||
    url.pathname !== "/" ||
    url.search !== "" ||
    url.hash !== "" ||
    url.username !== "" ||
    url.password !== ""
  ) {
    throw new ModelMoraError(
      "config",
      `a CORS origin is "*" or a scheme, host and optional port such as https://app.example.com or http://localhost:3000, got "${text}"`,
    );
  }
  return url.origin;
}

/** Creates the server's CORS handling; see CorsOptions for the defaults. */
export function createCors(options: CorsOptions = {}): Cors {
  const origins = new Set((options.origins ?? []).map(corsOriginFromString));
  const anyOrigin = origins.has("*");
  const maxAgeSeconds = options.maxAgeSeconds ?? 7200;
  const allowedHeaders = corsAllowedHeaders.join(", ");
  const exposedHeaders = corsExposedHeaders.join(", ");
  const allowedMethods = corsAllowedMethods.join(", ");

  /** The Access-Control-Allow-Origin value for this request, if it is allowed. */
  function allowedOrigin(req: WebRequest): string | undefined {
    const origin = req.headers.origin;
    if (typeof origin !== "string" || origin === "") {
      return undefined;
    }
    if (anyOrigin) {
      return "*";
    }
    return origins.has(origin) ? origin : undefined;
  }

  return {
    enabled: origins.size > 0,
    preflight(req, res) {
      if (req.method !== "OPTIONS" || req.headers["access-control-request-method"] === undefined) {
        return false;
      }
      const allowed = allowedOrigin(req);
      if (allowed === undefined) {
        return false;
      }
      res.setHeader("access-control-allow-origin", allowed);
      res.setHeader("access-control-allow-methods", allowedMethods);
      res.setHeader("access-control-allow-headers", allowedHeaders);
      res.setHeader("access-control-max-age", String(maxAgeSeconds));
      // Chromium's Private Network Access asks before a public page calls a
      // private address; an origin the operator allowed may.
      if (req.headers["access-control-request-private-network"] === "true") {
        res.setHeader("access-control-allow-private-network", "true");
      }
      if (!anyOrigin) {
        addVary(res, "Origin");
      }
      res.setHeader("content-length", "0");
      res.writeHead(204);
      res.end();
      return true;
    },
    apply(req, res) {
      if (origins.size === 0) {
        return;
      }
      if (!anyOrigin) {
        addVary(res, "Origin");
      }
      const allowed = allowedOrigin(req);
      if (allowed === undefined) {
        return;
      }
      res.setHeader("access-control-allow-origin", allowed);
      res.setHeader("access-control-expose-headers", exposedHeaders);
      // Lets the page read Resource Timing details (the HTTP version used).
      res.setHeader("timing-allow-origin", allowed);
    },
  };
}

/** A request handler of Node's HTTP/1.1 or HTTP/2 server. */
export type RequestHandler = (req: WebRequest, res: WebResponse) => void;

/**
 * Wraps the server's request handler with CORS: every response gets the
 * headers of its origin (apply), and preflights are answered here, before
 * the handler: they carry no credentials and are not calls, so they are
 * neither guarded, limited, logged nor counted.
 */
export function withCors(cors: Cors, handler: RequestHandler): RequestHandler {
  if (!cors.enabled) {
    return handler;
  }
  return function handleWithCors(req, res) {
    cors.apply(req, res);
    if (!cors.preflight(req, res)) {
      handler(req, res);
    }
  };
}
