/**
 * CORS: preflights answered for the origins allowed (--cors-origin), the
 * headers a page on another origin may send and read (connect-es's lists
 * plus this server's credentials and metadata), nothing for other origins,
 * the CLI's repeatable flag and variable, and the page itself served from
 * another origin, streaming over every protocol in Chromium.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { cors as connectCors } from "@connectrpc/connect";
import type { Browser, Page } from "playwright-core";
import { ModelMoraError } from "../../src/errors.js";
import { corsOriginFromString } from "../../src/web/index.js";
import { runCli, startCli, startServer, type TestServer } from "../support/index.js";
import {
  browserSuite,
  launchBrowser,
  openPage,
  readCards,
  restRequest,
  startStaticServer,
  streamInPage,
  waitForState,
} from "./browser-support.js";

const appOrigin = "http://app.example.com:3000";
const streamPath = "/modelmora.InferenceService/StreamInference";

function preflight(origin: string, extra: Record<string, string> = {}) {
  return {
    origin,
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type,x-api-key,connect-protocol-version",
    ...extra,
  };
}

/** A header's comma-separated list, lowercased. */
function listOf(value: string | string[] | undefined): string[] {
  return String(value ?? "")
    .split(",")
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== "");
}

describe("CORS headers", () => {
  let open: TestServer;
  let allowing: TestServer;
  let any: TestServer;

  before(async () => {
    open = await startServer();
    allowing = await startServer({ corsOrigins: [`${appOrigin}/`] });
    any = await startServer({ corsOrigins: ["*"] });
  });

  after(async () => {
    await Promise.all([open?.close(), allowing?.close(), any?.close()]);
  });

  it("answers a preflight from an allowed origin with connect-es's lists and ours", async () => {
    for (const path of [streamPath, "/infer/stream", "/v1/models"]) {
      for (const httpVersion of ["1.1", "2"] as const) {
        const response = await restRequest(allowing, "OPTIONS", path, {
          httpVersion,
          headers: preflight(appOrigin),
        });
        assert.equal(response.status, 204, `${path} over HTTP/${httpVersion}`);
        assert.equal(response.headers["access-control-allow-origin"], appOrigin);
        assert.deepEqual(listOf(response.headers["access-control-allow-methods"]), ["post", "get"]);
        const allowed = listOf(response.headers["access-control-allow-headers"]);
        for (const header of [...connectCors.allowedHeaders, "authorization", "x-api-key"]) {
          assert.ok(allowed.includes(header.toLowerCase()), `${header} in ${allowed}`);
        }
        assert.equal(response.headers["access-control-max-age"], "7200");
        assert.ok(listOf(response.headers.vary).includes("origin"));
        assert.equal(response.body.byteLength, 0);
      }
    }
  });

  it("lets the page read grpc-status, grpc-message and our metadata", async () => {
    const response = await restRequest(allowing, "POST", "/infer/stream", {
      headers: { origin: appOrigin, "content-type": "application/json" },
      body: JSON.stringify({ model_id: "thumb-64", prompt: "cors", batch_size: 1 }),
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers["access-control-allow-origin"], appOrigin);
    assert.equal(response.headers["timing-allow-origin"], appOrigin);
    const exposed = listOf(response.headers["access-control-expose-headers"]);
    for (const header of [
      ...connectCors.exposedHeaders,
      "grpc-status",
      "grpc-message",
      "retry-after",
      "x-request-id",
      "x-image-index",
      "x-image-bytes",
      "x-image-sha256",
      "x-image-width",
      "x-image-height",
    ]) {
      assert.ok(exposed.includes(header.toLowerCase()), `${header} in ${exposed}`);
    }
    assert.ok(listOf(response.headers.vary).includes("origin"));
    // Errors and the page's own files carry them too.
    const refused = await restRequest(allowing, "GET", "/no/such/path", {
      headers: { origin: appOrigin },
    });
    assert.equal(refused.status, 404);
    assert.equal(refused.headers["access-control-allow-origin"], appOrigin);
  });

  it("gives other origins nothing, and a server without --cors-origin no CORS at all", async () => {
    for (const [srv, origin] of [
      [allowing, "http://evil.example.com"],
      [open, appOrigin],
    ] as const) {
      const pre = await restRequest(srv, "OPTIONS", streamPath, { headers: preflight(origin) });
      assert.equal(pre.status, 405, `${srv.url} ${origin}`);
      assert.equal(pre.headers["access-control-allow-origin"], undefined);
      const get = await restRequest(srv, "GET", "/v1/models", { headers: { origin } });
      assert.equal(get.status, 200);
      assert.equal(get.headers["access-control-allow-origin"], undefined);
      assert.equal(get.headers["access-control-expose-headers"], undefined);
    }
    const plain = await restRequest(open, "GET", "/v1/models", { headers: { origin: appOrigin } });
    assert.equal(plain.headers.vary, undefined);
  });

  it('answers "*" with "*", and Private Network Access when asked', async () => {
    const response = await restRequest(any, "OPTIONS", streamPath, {
      headers: preflight("https://anywhere.example", {
        "access-control-request-private-network": "true",
      }),
    });
    assert.equal(response.status, 204);
    assert.equal(response.headers["access-control-allow-origin"], "*");
    assert.equal(response.headers["access-control-allow-private-network"], "true");
    const get = await restRequest(any, "GET", "/v1/models", {
      headers: { origin: "https://anywhere.example" },
    });
    assert.equal(get.headers["access-control-allow-origin"], "*");
    assert.equal(get.headers.vary, undefined);
  });

  it("normalizes allowed origins as browsers send them, and rejects the rest", () => {
    assert.equal(corsOriginFromString("HTTPS://App.Example.com:443/"), "https://app.example.com");
    assert.equal(corsOriginFromString(" http://localhost:3000 "), "http://localhost:3000");
    assert.equal(corsOriginFromString("*"), "*");
    for (const bad of ["app.example.com", "https://a.example/path", "ftp://a.example", "null"]) {
      assert.throws(
        () => corsOriginFromString(bad),
        (err: unknown) => err instanceof ModelMoraError && err.code === "config",
        bad,
      );
    }
  });
});

describe("--cors-origin", () => {
  it("is repeatable and adds to nothing else; MODELMORA_CORS_ORIGINS lists origins with commas", async () => {
    for (const { args, env } of [
      { args: ["--cors-origin", appOrigin, "--cors-origin", "http://other.example"], env: {} },
      { args: [], env: { MODELMORA_CORS_ORIGINS: `${appOrigin},http://other.example` } },
    ]) {
      const cli = await startCli(args, { env });
      try {
        for (const origin of [appOrigin, "http://other.example"]) {
          const response = await restRequest(cli, "OPTIONS", streamPath, {
            headers: preflight(origin),
          });
          assert.equal(response.status, 204, `${origin} with ${args.join(" ")}`);
          assert.equal(response.headers["access-control-allow-origin"], origin);
        }
      } finally {
        await cli.stop();
      }
    }
  });

  it("stops the server with exit code 2 on an origin that is not one", async () => {
    const result = await runCli(["--cors-origin", "https://app.example.com/path"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--cors-origin \(MODELMORA_CORS_ORIGINS\): a CORS origin is/);
  });
});

browserSuite("the page served from another origin, in Chromium", () => {
  let api: TestServer;
  let closed: TestServer;
  let site: Awaited<ReturnType<typeof startStaticServer>>;
  let browser: Browser;
  let page: Page;

  before(async () => {
    site = await startStaticServer();
    api = await startServer({ corsOrigins: [site.url] });
    closed = await startServer();
    browser = await launchBrowser();
    ({ page } = await openPage(browser, `${site.url}/?server=${encodeURIComponent(api.url)}`));
  });

  after(async () => {
    await browser?.close();
    await Promise.all([api?.close(), closed?.close(), site?.close()]);
  });

  it("calls the server named by ?server= and loads its models", async () => {
    const { state, text } = await waitForState(page, ["idle", "error"]);
    assert.equal(state, "idle", text);
    assert.equal(await page.textContent("#server-url"), api.url);
  });

  for (const protocol of ["connect", "connect-json", "grpc-web", "rest"]) {
    it(`streams over ${protocol} across origins, SHA-256 checked`, async () => {
      // A batch of one over REST is a bare PNG whose size and SHA-256 are
      // only in the x-image-* headers: they must be exposed.
      for (const batchSize of [1, 2]) {
        const { state, text } = await streamInPage(page, {
          protocol,
          model: "thumb-64",
          batchSize,
        });
        assert.equal(state, "done", `${protocol} batch ${batchSize}: ${text}`);
        const cards = await readCards(page);
        assert.equal(cards.length, batchSize);
        assert.ok(cards.every((card) => card.sha256 === "ok" && card.decoded === "true"));
      }
    });
  }

  it("reads the server's error across origins", async () => {
    for (const protocol of ["grpc-web", "connect", "rest"]) {
      const { state, text } = await streamInPage(page, {
        protocol,
        model: "thumb-64",
        batchSize: 99,
      });
      assert.equal(state, "error");
      assert.equal(text, "invalid_argument: batch_size must be from 1 to 32, got 99", protocol);
    }
  });

  it("is refused by a server that does not allow its origin", async () => {
    const other = await browser.newPage();
    try {
      await other.goto(`${site.url}/?server=${encodeURIComponent(closed.url)}`);
      const { state, text } = await waitForState(other, ["idle", "error"]);
      assert.equal(state, "error");
      assert.match(text, /^ListModels failed: .*Failed to fetch/);
    } finally {
      await other.close();
    }
  });
});
