/**
 * PNG-encoding levers for `npm run bench:levers`, in its own process:
 * time and size of one noise-1000 image (1000×1000 random pixels) drawn
 * with node-canvas, per encoding variant. Prints JSON lines.
 *
 *   node --import tsx bench/levers/lever-render.ts [images]
 */
import { createRequire } from "node:module";
import { createRandom } from "../../src/index.js";

interface NodeCanvas {
  getContext(
    kind: "2d",
    options: { pixelFormat: string },
  ): {
    createImageData(w: number, h: number): { data: Uint8ClampedArray };
    putImageData(data: { data: Uint8ClampedArray }, x: number, y: number): void;
  };
  toBuffer(
    callback: (err: Error | null, png: Buffer) => void,
    mime: "image/png",
    config: { compressionLevel: number; filters: number },
  ): void;
  toBuffer(mime: "image/png", config: { compressionLevel: number; filters: number }): Buffer;
  PNG_FILTER_NONE: number;
  PNG_ALL_FILTERS: number;
}

const require = createRequire(import.meta.url);
const images = Number(process.argv[2] ?? 6);
let lib: { createCanvas(w: number, h: number): NodeCanvas };
try {
  lib = require("canvas");
} catch {
  process.stdout.write(`${JSON.stringify({ skipped: "node-canvas is not installed" })}\n`);
  process.exit(0);
}

interface Variant {
  id: string;
  pixelFormat: "RGB24" | "RGBA32";
  level: number;
  filters: "none" | "all";
  async: boolean;
}

const variants: Variant[] = [
  { id: "rgba-l6-all-sync", pixelFormat: "RGBA32", level: 6, filters: "all", async: false },
  { id: "rgba-l6-all-async", pixelFormat: "RGBA32", level: 6, filters: "all", async: true },
  { id: "rgb-l6-none-async", pixelFormat: "RGB24", level: 6, filters: "none", async: true },
  { id: "rgb-l0-none-async", pixelFormat: "RGB24", level: 0, filters: "none", async: true },
];

for (const variant of variants) {
  let bytes = 0;
  const started = performance.now();
  // Four at a time, as a server with four streams would: the async variants
  // overlap on libuv's pool, the sync ones queue on the main thread.
  for (let i = 0; i < images; i += 4) {
    const batch = [];
    for (let j = i; j < Math.min(images, i + 4); j++) batch.push(render(variant, j));
    for (const png of await Promise.all(batch)) bytes += png.byteLength;
  }
  const ms = (performance.now() - started) / images;
  process.stdout.write(
    `${JSON.stringify({ id: variant.id, msPerImage: ms, bytesPerImage: bytes / images, mbPerSecond: bytes / images / 1e6 / (ms / 1000) })}\n`,
  );
}

async function render(variant: Variant, index: number): Promise<Buffer> {
  const canvas = lib.createCanvas(1000, 1000);
  const context = canvas.getContext("2d", { pixelFormat: variant.pixelFormat });
  const image = context.createImageData(1000, 1000);
  const words = new Uint32Array(image.data.buffer, image.data.byteOffset, image.data.length / 4);
  createRandom("lever", index).fill(words);
  for (let k = 0; k < words.length; k++) words[k] = (words[k] as number) | 0xff000000;
  context.putImageData(image, 0, 0);
  const config = {
    compressionLevel: variant.level,
    filters: variant.filters === "none" ? canvas.PNG_FILTER_NONE : canvas.PNG_ALL_FILTERS,
  };
  if (!variant.async) return canvas.toBuffer("image/png", config);
  return new Promise((resolve, reject) =>
    canvas.toBuffer((err, png) => (err ? reject(err) : resolve(png)), "image/png", config),
  );
}
