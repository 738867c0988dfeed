/**
 * The page with authentication and rate limits on, served from another
 * origin so the API key header must pass the preflight and retry-after
 * must be exposed: 401 until a key is typed, the server's message for a
 * wrong key, streams with the right one, and 429 with its retry-after on
 * every protocol once the key's burst is spent (the limiter's clock is
 * frozen, so no token comes back during the test).
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { startServer, type TestServer } from "../support/index.js";
import {
  browserSuite,
  launchBrowser,
  openPage,
  startStaticServer,
  streamInPage,
  waitForState,
} from "./browser-support.js";

const apiKey = "web-test-key-0123456789";

/**
 * Types a key into the API key field and leaves it, as a user does: the
 * browser fires change, and the page loads the models again with the key
 * (synchronously marking the status "loading", so the wait sees the new
 * outcome).
 */
async function enterKey(page: Page, key: string) {
  await page.fill("#api-key", key);
  await page.locator("#api-key").blur();
  return waitForState(page, ["idle", "error"]);
}

browserSuite("the page with API keys and rate limits, in Chromium", () => {
  let site: Awaited<ReturnType<typeof startStaticServer>>;
  let api: TestServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    site = await startStaticServer();
    const frozenMs = Date.now();
    api = await startServer({
      corsOrigins: [site.url],
      auth: {
        apiKeys: [
          {
            id: "web",
            key: apiKey,
            scopes: ["inference", "models"],
            // ListModels, then four streams; the fifth call is refused.
            limits: { requestsPerSecond: 0.001, burst: 5 },
          },
        ],
      },
      now: () => frozenMs,
    });
    browser = await launchBrowser();
    ({ page } = await openPage(browser, `${site.url}/?server=${encodeURIComponent(api.url)}`));
  });

  after(async () => {
    await browser?.close();
    await Promise.all([api?.close(), site?.close()]);
  });

  it("shows the server's 401 until a key is given, and its message for a wrong key", async () => {
    let { state, text } = await waitForState(page, ["idle", "error"]);
    assert.equal(state, "error");
    assert.equal(
      text,
      "ListModels failed: unauthenticated: missing credentials: send the header 'x-api-key: KEY' or 'authorization: Bearer KEY-OR-JWT' — enter an API key above",
    );
    ({ state, text } = await enterKey(page, "not-the-key"));
    assert.equal(state, "error");
    assert.match(text, /^ListModels failed: unauthenticated: unknown API key/);
    ({ state, text } = await enterKey(page, apiKey));
    assert.equal(state, "idle", text);
    assert.match(text, /^Ready: /);
  });

  for (const protocol of ["connect", "connect-json", "grpc-web", "rest"]) {
    it(`streams over ${protocol} with the key`, async () => {
      const { state, text } = await streamInPage(page, {
        protocol,
        model: "thumb-64",
        batchSize: 1,
      });
      assert.equal(state, "done", text);
    });
  }

  for (const protocol of ["connect", "connect-json", "grpc-web", "rest"]) {
    it(`shows the server's 429 with its retry-after over ${protocol}`, async () => {
      const { state, text } = await streamInPage(page, {
        protocol,
        model: "thumb-64",
        batchSize: 1,
      });
      assert.equal(state, "error");
      assert.equal(
        text,
        "resource_exhausted: rate limit of 0.001 requests/s for key 'web' exceeded; retry after 1000 s",
      );
      // The page read retry-after from the error's metadata: a header for
      // REST, exposed to this other origin, or the protocol's trailers.
      assert.equal(await page.getAttribute("#status", "data-retry-after"), "1000");
    });
  }

  it("shows retry-after for a refused ListModels too (a Connect unary header)", async () => {
    const { state, text } = await enterKey(page, ` ${apiKey} `);
    assert.equal(state, "error");
    assert.match(text, /^ListModels failed: resource_exhausted: rate limit/);
    assert.equal(await page.getAttribute("#status", "data-retry-after"), "1000");
  });
});
