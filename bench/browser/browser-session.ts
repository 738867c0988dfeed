/**
 * One Chromium for the bench and the pages it opens on the server under
 * test. Every page is the server's own page (`GET /`), whose bundle
 * carries the benchmark hooks (web/src/bench-api.ts); one page is one
 * browser tab, with the browser's own connection pool for the server's
 * origin (HTTP/1.1: at most 6 connections; HTTP/2, over TLS only: one).
 *
 * Library module of the browser bench; reads no flags or environment.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium } from "./chromium.js";

/** A running Chromium pointed at one server. */
export interface BrowserSession {
  /** The server's URL, e.g. "http://127.0.0.1:40123" or "https://localhost:40124". */
  readonly baseUrl: string;
  readonly browser: Browser;
  /** Opens the server's page in a new tab and waits for its hooks. */
  openPage(viewport?: { width: number; height: number }): Promise<Page>;
  /** Closes every page and the browser. */
  close(): Promise<void>;
}

/** Why the page's recent requests failed, as Chromium says it ("net::ERR_…"), by page. */
const networkFailures = new WeakMap<Page, string[]>();

/**
 * Takes the network errors Chromium reported for the page's requests since
 * the last call: what "Failed to fetch" hides from the page's script.
 */
export function takeNetworkFailures(page: Page): string[] {
  return networkFailures.get(page)?.splice(0) ?? [];
}

/** Options for createBrowserSession. */
export interface BrowserSessionOptions {
  readonly baseUrl: string;
  /**
   * Accept the server's certificate whatever it is (a self-signed one made
   * for the run). Default: true for https URLs.
   */
  readonly ignoreHttpsErrors?: boolean;
}

/** Launches Chromium for the server at baseUrl. */
export async function createBrowserSession(
  options: BrowserSessionOptions,
): Promise<BrowserSession> {
  const browser = await launchChromium();
  const contexts: BrowserContext[] = [];
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  return {
    baseUrl,
    browser,
    async openPage(viewport = { width: 1280, height: 900 }) {
      const context = await browser.newContext({
        viewport,
        ignoreHTTPSErrors: options.ignoreHttpsErrors ?? baseUrl.startsWith("https:"),
      });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(300_000);
      const failures: string[] = [];
      networkFailures.set(page, failures);
      page.on("requestfailed", (request) => {
        failures.push(request.failure()?.errorText ?? "unknown network error");
        if (failures.length > 20) failures.shift();
      });
      await page.goto(`${baseUrl}/`);
      await page.waitForFunction(
        () => (globalThis as { modelmoraBench?: unknown }).modelmoraBench !== undefined,
        undefined,
        { polling: 50 },
      );
      return page;
    },
    async close() {
      await Promise.allSettled(contexts.map((context) => context.close()));
      await browser.close();
    },
  };
}
