/**
 * Reading the Prometheus text exposition of /metrics, and the waits that
 * use it: a test that proves no more images are drawn waits for the
 * renders-in-progress gauge to reach zero, then reads the images counter.
 */
import assert from "node:assert/strict";
import type { ModelMoraServer } from "../../src/index.js";
import { waitFor } from "./server.js";

/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the samples of a Prometheus text exposition (comments skipped). */
export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1] as string] = pair[2] as string;
    }
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Whether a sample has the name and (at least) the labels. */
function matches(sample: Sample, name: string, labels: Record<string, string>): boolean {
  return (
    sample.name === name &&
    Object.entries(labels).every(([key, value]) => sample.labels[key] === value)
  );
}

/** The sum of the samples of one metric whose labels include `labels` (0 for none). */
export function sumOf(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  return samples
    .filter((sample) => matches(sample, name, labels))
    .reduce((sum, sample) => sum + sample.value, 0);
}

/**
 * The value of the one sample with this name whose labels include
 * `labels`, or undefined when there is none; fails when several match.
 */
export function sampleValue(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = samples.filter((sample) => matches(sample, name, labels));
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} matches ${found.length} series`);
  return found[0]?.value;
}

/** The samples of a server in this process, as GET /metrics would give them. */
export async function samplesOf(server: Pick<ModelMoraServer, "metrics">): Promise<Sample[]> {
  return parseSamples((await server.metrics.render()).body);
}

/** modelmora_images_total of a model: drawn (cached false, the default) or from the cache. */
export async function imagesServed(
  server: Pick<ModelMoraServer, "metrics">,
  model: string,
  cached = false,
): Promise<number> {
  return sumOf(await samplesOf(server), "modelmora_images_total", {
    model,
    cached: String(cached),
  });
}

/**
 * Waits until modelmora_renders_in_progress is 0 for both state="running"
 * and state="queued": no image is being drawn or waiting to be.
 */
export function waitForRendersIdle(server: Pick<ModelMoraServer, "metrics">): Promise<void> {
  return waitFor(async () => {
    const samples = await samplesOf(server);
    const running = sampleValue(samples, "modelmora_renders_in_progress", { state: "running" });
    const queued = sampleValue(samples, "modelmora_renders_in_progress", { state: "queued" });
    assert.ok(running !== undefined && queued !== undefined, "no renders_in_progress gauge");
    return running + queued === 0;
  }, "renders_in_progress (running and queued) to reach 0");
}

/**
 * Images of a model drawn (not from the cache), read once no render is
 * running or queued. After the calls that draw that model have ended, no
 * later reading can be higher: this is the count to assert on.
 */
export async function imagesDrawnWhenIdle(
  server: Pick<ModelMoraServer, "metrics">,
  model: string,
): Promise<number> {
  await waitForRendersIdle(server);
  return imagesServed(server, model);
}
