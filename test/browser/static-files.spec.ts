/**
 * The page's files as the server serves them, over HTTP/1.1 and HTTP/2:
 * content types, cache headers, ETags and 304, gzip, HEAD, 404 and 405 as
 * the REST routes answer them, metric labels from a fixed set, and the page
 * turned off. No browser needed.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  acceptsGzip,
  createStaticFiles,
  etagMatches,
  type StaticRoute,
} from "../../src/web/index.js";
import { startServer, type TestServer } from "../support/index.js";
import { restRequest, scrapeMetrics } from "./browser-support.js";

for (const httpVersion of ["1.1", "2"] as const) {
  describe(`the page's files over HTTP/${httpVersion}`, () => {
    let srv: TestServer;
    let assets: string[];

    before(async () => {
      srv = await startServer();
      const page = await restRequest(srv, "GET", "/", { httpVersion });
      assets = [...page.body.toString("utf8").matchAll(/(?:href|src)="(assets\/[^"]+)"/g)].map(
        (match) => `/${match[1]}`,
      );
    });

    after(async () => {
      await srv?.close();
    });

    it("serves index.html at / with no-cache, an ETag, CSP and nosniff", async () => {
      const response = await restRequest(srv, "GET", "/", { httpVersion });
      assert.equal(response.status, 200);
      assert.equal(response.headers["content-type"], "text/html; charset=utf-8");
      assert.equal(response.headers["cache-control"], "no-cache");
      assert.match(String(response.headers.etag), /^"[A-Za-z0-9_-]{22}"$/);
      assert.equal(response.headers["x-content-type-options"], "nosniff");
      assert.match(String(response.headers["content-security-policy"]), /script-src 'self'/);
      assert.equal(Number(response.headers["content-length"]), response.body.byteLength);
      assert.match(response.body.toString("utf8"), /<title>ModelMora/);
    });

    it("serves the hashed script and style sheet as immutable, with their content types", async () => {
      assert.equal(assets.length, 2, `assets named by index.html: ${assets}`);
      const types = new Map<string, string>();
      for (const path of assets) {
        assert.match(path, /^\/assets\/(app|styles)-[A-Z0-9]{8}\.(js|css)$/);
        const response = await restRequest(srv, "GET", path, { httpVersion });
        assert.equal(response.status, 200, path);
        assert.equal(response.headers["cache-control"], "public, max-age=31536000, immutable");
        assert.ok(response.headers.etag, path);
        types.set(path.endsWith(".js") ? "js" : "css", String(response.headers["content-type"]));
      }
      assert.equal(types.get("js"), "text/javascript; charset=utf-8");
      assert.equal(types.get("css"), "text/css; charset=utf-8");
    });

    it("answers 304 with no body to a matching If-None-Match, and 200 otherwise", async () => {
      for (const path of ["/", ...assets]) {
        const first = await restRequest(srv, "GET", path, { httpVersion });
        const etag = String(first.headers.etag);
        for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
          const again = await restRequest(srv, "GET", path, {
            httpVersion,
            headers: { "if-none-match": ifNoneMatch },
          });
          assert.equal(again.status, 304, `${path} If-None-Match: ${ifNoneMatch}`);
          assert.equal(again.body.byteLength, 0);
          assert.equal(again.headers.etag, etag);
          assert.equal(again.headers["cache-control"], first.headers["cache-control"]);
        }
        const changed = await restRequest(srv, "GET", path, {
          httpVersion,
          headers: { "if-none-match": '"not-this-one"' },
        });
        assert.equal(changed.status, 200);
        assert.deepEqual(changed.body, first.body);
      }
    });

    it("sends gzip to clients that accept it, under its own ETag", async () => {
      const script = assets.find((path) => path.endsWith(".js")) as string;
      const plain = await restRequest(srv, "GET", script, { httpVersion });
      const zipped = await restRequest(srv, "GET", script, {
        httpVersion,
        headers: { "accept-encoding": "gzip, deflate, br" },
      });
      assert.equal(plain.headers["content-encoding"], undefined);
      assert.equal(zipped.headers["content-encoding"], "gzip");
      assert.ok(zipped.body.byteLength < plain.body.byteLength / 2);
      assert.deepEqual(gunzipSync(zipped.body), plain.body);
      assert.notEqual(zipped.headers.etag, plain.headers.etag);
      assert.equal(zipped.headers.vary, "Accept-Encoding");
      const refused = await restRequest(srv, "GET", script, {
        httpVersion,
        headers: { "accept-encoding": "gzip;q=0, br" },
      });
      assert.equal(refused.headers["content-encoding"], undefined);
    });

    it("answers HEAD with the headers of GET and no body", async () => {
      const get = await restRequest(srv, "GET", "/", { httpVersion });
      const head = await restRequest(srv, "HEAD", "/", { httpVersion });
      assert.equal(head.status, 200);
      assert.equal(head.body.byteLength, 0);
      assert.equal(head.headers["content-length"], get.headers["content-length"]);
      assert.equal(head.headers.etag, get.headers.etag);
    });

    it("answers other methods 405 with Allow, and unknown files 404, as JSON like REST", async () => {
      const post = await restRequest(srv, "POST", "/", { httpVersion, body: "{}" });
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, "GET, HEAD");
      assert.deepEqual(JSON.parse(post.body.toString("utf8")), {
        code: "unimplemented",
        message: "/ accepts GET or HEAD, not POST",
      });
      const missing = await restRequest(srv, "GET", "/assets/app-NOPE1234.js", { httpVersion });
      assert.equal(missing.status, 404);
      assert.deepEqual(JSON.parse(missing.body.toString("utf8")), {
        code: "not_found",
        message: "no route for GET /assets/app-NOPE1234.js",
      });
      // Paths outside the page's are the server's, as before.
      const other = await restRequest(srv, "GET", "/index.html", { httpVersion });
      assert.equal(other.status, 404);
      assert.equal(JSON.parse(other.body.toString("utf8")).code, "not_found");
      const models = await restRequest(srv, "GET", "/v1/models", { httpVersion });
      assert.equal(models.status, 200);
    });

    it("labels the page's calls from a fixed set, never the path", async () => {
      const methods = new Set(
        (await scrapeMetrics(srv))
          .filter((sample) => sample.name === "modelmora_calls_total")
          .map((sample) => sample.labels.method as string),
      );
      for (const label of ["GET /", "GET /assets"]) {
        assert.ok(methods.has(label), `${label} in ${[...methods]}`);
      }
      assert.ok(
        ![...methods].some((method) => method.includes("/assets/")),
        `no per-file labels: ${[...methods]}`,
      );
    });
  });
}

describe("the page turned off or not built", () => {
  it("answers / 404 with webPage: false, as any unknown path", async () => {
    const srv = await startServer({ webPage: false });
    try {
      const response = await restRequest(srv, "GET", "/");
      assert.equal(response.status, 404);
      assert.deepEqual(JSON.parse(response.body.toString("utf8")), {
        code: "not_found",
        message: "no route for GET /",
      });
    } finally {
      await srv.close();
    }
  });

  it("says how to build the page when its folder has no index.html", async () => {
    const root = await mkdtemp(join(tmpdir(), "modelmora-web-"));
    try {
      await writeFile(join(root, "stray.txt"), "not a page");
      const files = createStaticFiles({ root });
      assert.equal(files.available, false);
      assert.deepEqual(
        files.routes.map((route) => [route.path, route.label, route.access]),
        [["/", "GET /", "public"]],
      );
      const route = files.routes[0] as StaticRoute;
      await assert.rejects(
        route.serve({} as Parameters<StaticRoute["serve"]>[0]),
        (err: unknown) =>
          err instanceof ConnectError &&
          err.code === Code.NotFound &&
          err.rawMessage === "the web page is not built here: run npm run build:web",
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("parses Accept-Encoding and If-None-Match as RFC 9110 says", () => {
    assert.equal(acceptsGzip("gzip"), true);
    assert.equal(acceptsGzip("br, GZIP;q=0.5"), true);
    assert.equal(acceptsGzip("*"), true);
    assert.equal(acceptsGzip("gzip;q=0"), false);
    assert.equal(acceptsGzip("br"), false);
    assert.equal(acceptsGzip(undefined), false);
    assert.equal(etagMatches('W/"a", "b"', '"a"'), true);
    assert.equal(etagMatches('"a"', '"b"'), false);
    assert.equal(etagMatches(undefined, '"a"'), false);
  });
});
