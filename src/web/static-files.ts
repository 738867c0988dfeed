import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import { contentTypeOf } from "./content-types.js";
import type { WebRequest, WebResponse } from "./http-types.js";
import { addVary } from "./vary-header.js";
import { defaultWebRoot } from "./web-root.js";

/** Options for createStaticFiles. */
export interface StaticFilesOptions {
  /**
   * The folder holding index.html and assets/. Default: the page built by
   * `npm run build:web` (web/bundle/ in the package; see defaultWebRoot).
   * Its files are read once, when the server is created.
   */
  root?: string;
}

/**
 * One route of the page: the shape of the server's REST routes
 * (src/server/rest-routes.ts), so the dispatcher serves it like them: 405
 * with Allow for another method, the call logged and counted under label.
 * Every route is public: the page loads before anyone types a key.
 */
export interface StaticRoute {
  readonly kind: "rest";
  readonly path: string;
  /** "GET /" for the page, "GET /assets" for every asset: never a file's name. */
  readonly label: string;
  readonly methods: readonly string[];
  readonly access: "public";
  readonly streaming: false;
  /** Answers the request; rejects (NOT_FOUND) only when the page is not built. */
  serve(call: { readonly req: WebRequest; readonly res: WebResponse }): Promise<void>;
}

/**
 * The browser page's routes: `GET /` (index.html) and one
 * `GET /assets/<file>` per asset (the script and style sheet, with
 * content-hashed names), with HEAD, ETags and 304, gzip when the client
 * accepts it, and cache headers. An unknown asset has no route: the
 * server's own 404.
 */
export interface StaticFiles {
  /** Whether the page is built and loaded. */
  readonly available: boolean;
  /** The routes, "/" first; when the page is not built, "/" alone, answering 404 with how to build it. */
  readonly routes: readonly StaticRoute[];
}

/** The methods the page's routes accept. */
export const staticFileMethods: readonly string[] = ["GET", "HEAD"];

/**
 * Cache lifetime of content-hashed assets: a year, and immutable, since a
 * new build gives new names. index.html is revalidated on every load
 * (no-cache, with its ETag), so a new build shows at once.
 */
const immutableCacheControl = "public, max-age=31536000, immutable";

/** esbuild's content hash in a file name: "app-5TQ2ZP3N.js". */
const hashedName = /-[A-Z0-9]{8}\.[a-z0-9]+$/;

/**
 * The page's Content-Security-Policy: its own script and styles only,
 * images from the blobs it makes, and calls to any http(s) server, since
 * `?server=URL` may point it at another one.
 */
const pagePolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self' http: https:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

interface Variant {
  readonly body: Buffer;
  readonly etag: string;
}

interface StaticFile {
  readonly contentType: string;
  readonly cacheControl: string;
  readonly identity: Variant;
  /** Present when gzip makes the file smaller. */
  readonly gzip?: Variant;
  readonly isPage: boolean;
}

/** Creates the page's routes; see StaticFilesOptions for the defaults. */
export function createStaticFiles(options: StaticFilesOptions = {}): StaticFiles {
  const root = options.root ?? defaultWebRoot();
  const files = root === undefined ? new Map<string, StaticFile>() : loadFiles(root);
  const route = (path: string, label: string, serve: StaticRoute["serve"]): StaticRoute => ({
    kind: "rest",
    path,
    label,
    methods: staticFileMethods,
    access: "public",
    streaming: false,
    serve,
  });
  if (!files.has("/")) {
    return {
      available: false,
      routes: [
        route("/", "GET /", async () => {
          throw new ConnectError(
            "the web page is not built here: run npm run build:web",
            Code.NotFound,
          );
        }),
      ],
    };
  }
  return {
    available: true,
    routes: [...files].map(([path, file]) =>
      route(path, path === "/" ? "GET /" : "GET /assets", async ({ req, res }) =>
        serveFile(req, res, file),
      ),
    ),
  };
}

function serveFile(req: WebRequest, res: WebResponse, file: StaticFile): void {
  const useGzip = file.gzip !== undefined && acceptsGzip(req.headers["accept-encoding"]);
  const variant = useGzip && file.gzip !== undefined ? file.gzip : file.identity;
  res.setHeader("cache-control", file.cacheControl);
  res.setHeader("etag", variant.etag);
  if (file.gzip !== undefined) {
    addVary(res, "Accept-Encoding");
  }
  if (file.isPage) {
    res.setHeader("content-security-policy", pagePolicy);
    res.setHeader("referrer-policy", "no-referrer");
  }
  res.setHeader("x-content-type-options", "nosniff");
  if (etagMatches(req.headers["if-none-match"], variant.etag)) {
    res.writeHead(304);
    res.end();
    return;
  }
  res.setHeader("content-type", file.contentType);
  res.setHeader("content-length", String(variant.body.byteLength));
  if (useGzip) {
    res.setHeader("content-encoding", "gzip");
  }
  res.writeHead(200);
  if (req.method === "HEAD") {
    res.end();
  } else {
    res.end(variant.body);
  }
}

/** Reads index.html (served at /) and every file of assets/ (at /assets/<name>). */
function loadFiles(root: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const page = join(root, "index.html");
  if (!isFile(page)) {
    return files;
  }
  files.set("/", makeFile(readFileSync(page), "index.html", "no-cache", true));
  const assets = join(root, "assets");
  if (isDirectory(assets)) {
    for (const name of readdirSync(assets).sort()) {
      const path = join(assets, name);
      if (!isFile(path)) continue;
      const cacheControl = hashedName.test(name) ? immutableCacheControl : "no-cache";
      files.set(`/assets/${name}`, makeFile(readFileSync(path), name, cacheControl, false));
    }
  }
  return files;
}

function makeFile(body: Buffer, name: string, cacheControl: string, isPage: boolean): StaticFile {
  const hash = createHash("sha256").update(body).digest("base64url").slice(0, 22);
  const identity = { body, etag: `"${hash}"` };
  const compressed = gzipSync(body, { level: 9 });
  // Not worth a second variant for a file gzip barely shrinks.
  const gzip =
    compressed.byteLength < body.byteLength * 0.9
      ? { body: compressed, etag: `"${hash}-gzip"` }
      : undefined;
  return { contentType: contentTypeOf(name), cacheControl, identity, gzip, isPage };
}

/**
 * Whether an Accept-Encoding header accepts gzip: named (or "*") without
 * q=0 (RFC 9110 §12.5.3).
 */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  if (header === undefined) {
    return false;
  }
  const text = Array.isArray(header) ? header.join(",") : header;
  for (const item of text.split(",")) {
    const [name = "", ...params] = item.split(";").map((part) => part.trim().toLowerCase());
    if (name !== "gzip" && name !== "x-gzip" && name !== "*") continue;
    const q = params.find((param) => param.startsWith("q="));
    if (q === undefined || Number(q.slice(2)) > 0) {
      return true;
    }
  }
  return false;
}

/**
 * Whether If-None-Match names this ETag: "*", or a list compared weakly
 * (a W/ prefix is ignored), as RFC 9110 §13.1.2 asks for GET and HEAD.
 */
export function etagMatches(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) {
    return false;
  }
  const text = Array.isArray(header) ? header.join(",") : header;
  return text
    .split(",")
    .map((tag) => tag.trim().replace(/^W\//, ""))
    .some((tag) => tag === "*" || tag === etag);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
