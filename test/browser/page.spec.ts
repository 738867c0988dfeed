/**
 * The page at `/` in headless Chromium, against a real server: it streams
 * thumb-64 and noise-1000 over every browser protocol, the images decode
 * in the page and their SHA-256 (computed in the page) is the server's,
 * errors show the server's own message, Compare draws its chart, and Stop
 * ends the stream on the server.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { createInferenceClient } from "../../src/client/index.js";
import { reassemble, startServer, sumOf, type TestServer, waitFor } from "../support/index.js";
import {
  browserSuite,
  launchBrowser,
  openPage,
  readCards,
  runsStarted,
  scrapeMetrics,
  streamInPage,
  waitForElement,
  waitForState,
} from "./browser-support.js";

const protocols = ["connect", "connect-json", "grpc-web", "rest"] as const;
const prompt = "a red fox in the snow";

/** The images' SHA-256 as a Node client gets them: what the page must compute. */
async function expectedSha256(srv: TestServer, modelId: string, batchSize: number) {
  const { client, close } = createInferenceClient({ baseUrl: srv.url, protocol: "connect" });
  try {
    const chunks = [];
    for await (const chunk of client.streamInference({ modelId, prompt, batchSize })) {
      chunks.push(chunk);
    }
    return reassemble(chunks).map((image) => image.sha256);
  } finally {
    close();
  }
}

browserSuite("the page at /, in Chromium", () => {
  let srv: TestServer;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[];

  before(async () => {
    srv = await startServer();
    browser = await launchBrowser();
    ({ page, pageErrors } = await openPage(browser, `${srv.url}/`));
  });

  after(async () => {
    await browser?.close();
    await srv?.close();
  });

  it("loads the models with ListModels and says it is ready", async () => {
    const { text } = await waitForState(page, ["idle", "error"]);
    assert.match(text, /^Ready: \d+ models, batches up to 32/);
    const models = await page.$$eval("#model option", (options) =>
      options.map((option) => option.getAttribute("value")),
    );
    assert.ok(models.includes("thumb-64") && models.includes("noise-1000"), String(models));
    assert.match((await page.textContent("#server-url")) ?? "", /this page's server/);
  });

  for (const model of ["thumb-64", "noise-1000"]) {
    for (const protocol of protocols) {
      it(`streams ${model} over ${protocol}: images decode, SHA-256 is the server's`, async () => {
        const batchSize = 2;
        const { state, text } = await streamInPage(page, { protocol, model, batchSize });
        assert.equal(state, "done", text);
        assert.match(text, /^2 images in [\d.]+ MB\/s, every SHA-256 matches\.$/);
        const cards = await readCards(page);
        assert.deepEqual(
          cards.map((card) => [card.index, card.sha256, card.decoded]),
          [
            [0, "ok", "true"],
            [1, "ok", "true"],
          ],
        );
        assert.deepEqual(
          cards.map((card) => card.computed),
          await expectedSha256(srv, model, batchSize),
        );
        assert.equal(await page.getAttribute("#summary-figures", "data-protocol"), protocol);
        const images = await page.textContent('[data-figure="images"] dd');
        assert.equal(images, "2 of 2");
      });
    }
  }

  for (const protocol of protocols) {
    it(`shows the server's message for a batch too large over ${protocol}`, async () => {
      const { state, text } = await streamInPage(page, {
        protocol,
        model: "thumb-64",
        batchSize: 40,
      });
      assert.equal(state, "error");
      assert.equal(text, "invalid_argument: batch_size must be from 1 to 32, got 40");
    });
  }

  it("shows the server's message for an unknown model", async () => {
    // The list only offers the server's models; a stale list is how a page
    // asks for one the server no longer has.
    await page.$eval("#model", (select) => {
      const option = select.ownerDocument.createElement("option");
      option.value = "no-such-model";
      option.textContent = "no-such-model";
      select.append(option);
    });
    for (const protocol of ["grpc-web", "rest"]) {
      const { state, text } = await streamInPage(page, {
        protocol,
        model: "no-such-model",
        batchSize: 1,
      });
      assert.equal(state, "error");
      assert.match(text, /^not_found: .*no-such-model/);
    }
  });

  it("compares every protocol and draws the chart", async () => {
    const { state, text } = await streamInPage(
      page,
      { protocol: "connect", model: "thumb-64", batchSize: 3 },
      "#compare-button",
    );
    assert.equal(state, "done", text);
    assert.equal(text, "Compared 4 protocols on the same 3 images.");
    for (const chart of ["throughput", "first-image"]) {
      const rows = await page.$$eval(`[data-chart="${chart}"] .bar-row`, (elements) =>
        elements.map((row) => [row.getAttribute("data-protocol"), row.getAttribute("data-value")]),
      );
      assert.deepEqual(
        rows.map(([protocol]) => protocol),
        [...protocols],
      );
      for (const [protocol, value] of rows) {
        assert.ok(Number(value) > 0, `${chart} of ${protocol} is ${value}`);
      }
    }
  });

  it("threw no script errors", () => {
    assert.deepEqual(pageErrors, []);
  });
});

browserSuite("Stop, in Chromium", () => {
  let srv: TestServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    // No cache: every image is drawn as the stream goes, so a batch of 32
    // is still streaming when the first image shows and Stop is pressed.
    srv = await startServer({ cacheBytes: 0 });
    browser = await launchBrowser();
    ({ page } = await openPage(browser, `${srv.url}/`));
    await waitForState(page, ["idle"]);
  });

  after(async () => {
    await browser?.close();
    await srv?.close();
  });

  for (const protocol of protocols) {
    it(`ends the stream on the server over ${protocol}`, async () => {
      const canceledBefore = sumOf(await scrapeMetrics(srv), "modelmora_calls_total", {
        protocol,
        code: "canceled",
      });
      await page.check(`#protocol-${protocol}`);
      // 10 MB images keep a binary stream going for seconds after its first
      // image; Connect JSON decodes base64 on the page's main thread at a
      // few MB/s, so 3 MB images are enough there (and 10 MB ones take long).
      await page.selectOption("#model", protocol === "connect-json" ? "noise-1000" : "noise-10m");
      await page.fill("#batch-size", "32");
      const runs = await runsStarted(page);
      await page.click("#stream-button");
      await waitForElement(page, "#gallery .card");
      // A click event without Playwright's actionability checks, which wait
      // for animation frames that a page busy streaming delays by seconds.
      await page.locator("#stop-button").dispatchEvent("click");
      const { state, text } = await waitForState(page, ["stopped", "done", "error"], runs + 1);
      assert.equal(state, "stopped", text);
      assert.match(text, /^Stopped after \d+ of 32 images\.$/);
      // The server saw the client go: its stream ended as canceled, and no
      // stream is left running.
      await waitFor(async () => {
        const samples = await scrapeMetrics(srv);
        return (
          sumOf(samples, "modelmora_calls_total", { protocol, code: "canceled" }) >
            canceledBefore && sumOf(samples, "modelmora_active_streams") === 0
        );
      }, `a canceled ${protocol} call and modelmora_active_streams at 0`);
    });
  }
});
