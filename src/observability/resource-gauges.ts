import { Gauge, type Registry } from "prom-client";

/** What the memory budget holds, in bytes. */
export interface MemoryUsage {
  readonly limit: number;
  readonly cache: number;
  readonly images: number;
  readonly writeAhead: number;
}

/**
 * The gauges of what the server holds now, read from a source at every
 * scrape: renders_in_progress{state}, memory_budget_bytes and
 * memory_bytes{part} (see Metrics). Until a source is given they read 0.
 */
export interface ResourceGauges {
  /** Makes renders_in_progress read from source at every scrape. */
  watchRenders(source: () => { running: number; queued: number }): void;
  /** Makes memory_budget_bytes and memory_bytes read from source at every scrape. */
  watchMemory(source: () => MemoryUsage): void;
}

/** Registers the render and memory gauges in `registers`. */
export function createResourceGauges(registers: Registry[]): ResourceGauges {
  let renderSource: (() => { running: number; queued: number }) | undefined;
  new Gauge({
    name: "modelmora_renders_in_progress",
    help: "Images being drawn and encoded (state=running) or waiting for a render slot (state=queued).",
    labelNames: ["state"],
    registers,
    collect() {
      const stats = renderSource?.() ?? { running: 0, queued: 0 };
      this.set({ state: "running" }, stats.running);
      this.set({ state: "queued" }, stats.queued);
    },
  });

  let memorySource: (() => MemoryUsage) | undefined;
  new Gauge({
    name: "modelmora_memory_budget_bytes",
    help: "The memory budget of image streams: cache, images held by streams and write-ahead buffers.",
    registers,
    collect() {
      this.set(memorySource?.().limit ?? 0);
    },
  });
  new Gauge({
    name: "modelmora_memory_bytes",
    help: "Memory counted against the budget, by part: cache, images (held by streams), write_ahead.",
    labelNames: ["part"],
    registers,
    collect() {
      const usage = memorySource?.() ?? { cache: 0, images: 0, writeAhead: 0 };
      this.set({ part: "cache" }, usage.cache);
      this.set({ part: "images" }, usage.images);
      this.set({ part: "write_ahead" }, usage.writeAhead);
    },
  });

  return {
    watchRenders: function watchRenders(source) {
      renderSource = source;
    },
    watchMemory: function watchMemory(source) {
      memorySource = source;
    },
  };
}
