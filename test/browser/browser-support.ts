/**
 * Helpers of the browser tests: Debian's Chromium driven by playwright-core
 * (no browser download), a second static server for cross-origin pages,
 * and the page's states.
 *
 * Chromium is /usr/bin/chromium, or MODELMORA_CHROMIUM. Without it the
 * suites skip with one line, unless MODELMORA_REQUIRE_BROWSER=1 (CI), which
 * makes them fail instead.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join, normalize } from "node:path";
import { describe, it } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { contentTypeOf, defaultWebRoot } from "../../src/web/index.js";
import {
  httpRequest,
  parseSamples,
  type RawRequest,
  type RawResponse,
  type Sample,
  type Target,
  type TestServer,
} from "../support/index.js";

/** The Chromium the tests drive. */
export const chromiumPath = process.env.MODELMORA_CHROMIUM ?? "/usr/bin/chromium";

/** Set in CI: a missing Chromium fails the browser tests instead of skipping them. */
export const browserRequired = process.env.MODELMORA_REQUIRE_BROWSER === "1";

/**
 * Chromium's flags: headless, no GPU, and nothing that reaches out to the
 * network on its own (updates, sync, QUIC probes), which this machine's
 * network refuses and which would only add noise.
 */
export const chromiumArgs: readonly string[] = [
  "--no-sandbox",
  "--headless",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * A describe() that runs when Chromium is installed, skips with one line
 * when it is not, and fails when it is not but MODELMORA_REQUIRE_BROWSER=1.
 */
export function browserSuite(name: string, fn: () => void): void {
  if (existsSync(chromiumPath)) {
    describe(name, fn);
    return;
  }
  const reason = `${chromiumPath} not found (apt-get install chromium, or set MODELMORA_CHROMIUM)`;
  if (browserRequired) {
    describe(name, () => {
      it("needs Chromium", () => {
        assert.fail(`MODELMORA_REQUIRE_BROWSER=1 but ${reason}`);
      });
    });
    return;
  }
  describe(name, { skip: reason }, fn);
}

/** Launches headless Chromium with a fresh profile (Playwright makes a temporary user-data-dir). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [...chromiumArgs],
    timeout: 60_000,
  });
}

/** A page and the errors its scripts threw, which a test should find empty. */
export interface OpenPage {
  readonly page: Page;
  readonly pageErrors: string[];
}

/** Opens url in a new page of its own context, waiting for the page to have loaded. */
export async function openPage(
  browser: Browser,
  url: string,
  viewport = { width: 1280, height: 900 },
): Promise<OpenPage> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await page.goto(url);
  return { page, pageErrors };
}

/**
 * The part of the page's DOM that functions run in the page use: these
 * tests compile without TypeScript's DOM library, as the rest of the tests.
 */
export interface PageDom {
  document: {
    body: { dataset: Record<string, string | undefined> };
    querySelector(selector: string): {
      getAttribute(name: string): string | null;
      readonly textContent: string | null;
      hasAttribute(name: string): boolean;
    } | null;
  };
}

/** How often the waits below look at the page, in ms. */
const pollMs = 50;

/**
 * Waits until the page's status line is in one of states, and returns that
 * state and the line's text. Waits poll on a timer: Playwright's default
 * polling and its click checks run on animation frames, which a busy page
 * (Connect JSON decoding base64 on the main thread) delays by seconds.
 */
export async function waitForState(
  page: Page,
  states: readonly string[],
  afterRuns = 0,
): Promise<{ state: string; text: string }> {
  const handle = await page.waitForFunction(
    ({ wanted, runs }) => {
      // Runs in the page: only the type cast comes from here.
      const { document } = globalThis as unknown as PageDom;
      const status = document.querySelector("#status");
      const state = status?.getAttribute("data-state") ?? "";
      const stream = document.querySelector("#stream-button");
      const idle = stream !== null && !stream.hasAttribute("disabled");
      const started = Number(document.body.dataset.runs ?? 0);
      return wanted.includes(state) && started >= runs && (runs === 0 || idle)
        ? { state, text: status?.textContent ?? "" }
        : false;
    },
    { wanted: [...states], runs: afterRuns },
    { polling: pollMs },
  );
  return handle.jsonValue() as Promise<{ state: string; text: string }>;
}

/** Runs started by the page so far (its body's data-runs). */
export async function runsStarted(page: Page): Promise<number> {
  return page.evaluate(() => {
    const { document } = globalThis as unknown as PageDom;
    return Number(document.body.dataset.runs ?? 0);
  });
}

/** Waits until an element matches selector, polling on a timer (see waitForState). */
export async function waitForElement(page: Page, selector: string): Promise<void> {
  await page.waitForFunction(
    (wanted) => (globalThis as unknown as PageDom).document.querySelector(wanted) !== null,
    selector,
    { polling: pollMs },
  );
}

/** Picks the protocol, model and batch size, presses a button and waits for the run to end. */
export async function streamInPage(
  page: Page,
  options: { protocol: string; model: string; batchSize: number | string },
  button = "#stream-button",
): Promise<{ state: string; text: string }> {
  await waitForState(page, ["idle", "done", "error", "stopped"]);
  await page.check(`#protocol-${options.protocol}`);
  await page.selectOption("#model", options.model);
  await page.fill("#batch-size", String(options.batchSize));
  const before = await runsStarted(page);
  await page.click(button);
  return waitForState(page, ["done", "error", "stopped"], before + 1);
}

/** What each image card of the gallery says. */
export interface CardState {
  index: number;
  sha256: string;
  decoded: string;
  /** The SHA-256 the page computed (the check's title: "HEX (Web Crypto)"). */
  computed: string;
}

/** Reads the gallery's cards, in order. */
export async function readCards(page: Page): Promise<CardState[]> {
  const cards = await page.$$("#gallery .card");
  return Promise.all(
    cards.map(async (card) => {
      const title = (await (await card.$(".check"))?.getAttribute("title")) ?? "";
      return {
        index: Number(await card.getAttribute("data-index")),
        sha256: (await card.getAttribute("data-sha256")) ?? "",
        decoded: (await card.getAttribute("data-decoded")) ?? "",
        computed: title.split(" ")[0] ?? "",
      };
    }),
  );
}

/** The server's metrics, scraped in-process. */
export async function scrapeMetrics(srv: TestServer): Promise<Sample[]> {
  return parseSamples((await srv.server.metrics.render()).body);
}

/**
 * A second origin: a plain static server on its own port serving the
 * built page (web/bundle/), as a site hosting the page elsewhere would.
 */
export async function startStaticServer(
  root = defaultWebRoot(),
): Promise<{ url: string; close(): Promise<void> }> {
  assert.ok(root !== undefined, "web/bundle/ is not built: run npm run build:web");
  const server = createHttpServer((req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0] as string;
    const file = normalize(join(root, path === "/" ? "index.html" : path));
    if (!file.startsWith(root)) {
      res.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (body) => {
        res.writeHead(200, { "content-type": contentTypeOf(file) }).end(body);
      },
      () => {
        res.writeHead(404).end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    // "localhost", not 127.0.0.1: another origin than the API server's.
    url: `http://localhost:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One request on a connection of its own (httpRequest of test/support), method and path first. */
export function restRequest(
  target: Target,
  method: string,
  path: string,
  options: Omit<RawRequest, "method" | "path"> = {},
): Promise<RawResponse> {
  return httpRequest(target, { method, path, ...options });
}
