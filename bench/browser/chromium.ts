/**
 * The browser the bench drives: Debian's Chromium through playwright-core
 * (no browser download). MODELMORA_CHROMIUM names another executable.
 *
 * Library module of the browser bench; reads MODELMORA_CHROMIUM.
 */
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

/** The Chromium executable. */
export const chromiumPath = process.env.MODELMORA_CHROMIUM ?? "/usr/bin/chromium";

/**
 * Chromium's flags: headless, no GPU, and nothing that reaches out on its
 * own (updates, sync, QUIC probes), which would only add noise.
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

/** Why the browser rows can't run here, or undefined when Chromium is installed. */
export function chromiumMissing(): string | undefined {
  return existsSync(chromiumPath)
    ? undefined
    : `${chromiumPath} not found (apt-get install chromium, or set MODELMORA_CHROMIUM)`;
}

/** Launches headless Chromium with a fresh temporary profile. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [...chromiumArgs],
    timeout: 60_000,
  });
}
