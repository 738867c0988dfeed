/**
 * A picture of the page after a Compare run, for people reading the
 * bench's results: the page at a desktop and a phone width, after it
 * streamed the same batch over every browser protocol and drew its chart.
 *
 * Library module of the browser bench; reads no flags or environment.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Page } from "playwright-core";
import type { BrowserSession } from "./browser-session.js";

/** Options for saveCompareScreenshots. */
export interface CompareScreenshotOptions {
  /** Folder the PNG files go to (created if missing). */
  readonly dir: string;
  /** Model and batch size of the comparison. Default scene-1024 × 4: pictures worth looking at. */
  readonly model?: string;
  readonly batchSize?: number;
  /** Sent as the page's API key when the server asks for one. */
  readonly apiKey?: string;
}

/** The page's DOM as the functions run in it use it (the bench compiles without the DOM library). */
interface PageDom {
  document: {
    body: { dataset: Record<string, string | undefined> };
    querySelector(selector: string): {
      getAttribute(name: string): string | null;
      readonly textContent: string | null;
      hasAttribute(name: string): boolean;
    } | null;
  };
}

/**
 * Runs Compare in a new page and saves compare-desktop.png (1280 px wide)
 * and compare-phone.png (390 px, the same page), full length. Resolves with
 * their paths and the page's closing status line; rejects when the
 * comparison failed.
 */
export async function saveCompareScreenshots(
  session: BrowserSession,
  options: CompareScreenshotOptions,
): Promise<{ files: string[]; status: string }> {
  await mkdir(options.dir, { recursive: true });
  const page = await session.openPage({ width: 1280, height: 900 });
  await waitForIdle(page, 0);
  if (options.apiKey !== undefined) {
    await page.fill("#api-key", options.apiKey);
    await page.locator("#api-key").blur();
    await waitForIdle(page, 0);
  }
  await page.selectOption("#model", options.model ?? "scene-1024");
  await page.fill("#batch-size", String(options.batchSize ?? 4));
  await page.click("#compare-button");
  const status = await waitForIdle(page, 1);
  if (!status.startsWith("Compared")) {
    throw new Error(`the page's comparison failed: ${status}`);
  }
  const desktop = join(options.dir, "compare-desktop.png");
  await page.screenshot({ path: desktop, fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  const phone = join(options.dir, "compare-phone.png");
  await page.screenshot({ path: phone, fullPage: true });
  return { files: [desktop, phone], status };
}

/** Waits for the page to be at rest after at least `runs` runs; returns its status line. */
async function waitForIdle(page: Page, runs: number): Promise<string> {
  const handle = await page.waitForFunction(
    (wanted) => {
      const { document } = globalThis as unknown as PageDom;
      const status = document.querySelector("#status");
      const state = status?.getAttribute("data-state") ?? "";
      const started = Number(document.body.dataset.runs ?? 0);
      const atRest = ["idle", "done", "error", "stopped"].includes(state);
      return atRest && started >= wanted ? (status?.textContent ?? "") : false;
    },
    runs,
    { polling: 100 },
  );
  return (await handle.jsonValue()) as string;
}
