import type { Random } from "./random.js";
import type { Context2d } from "./renderer.js";

/** A model profile: what a model draws and at what size. */
export interface ModelProfile {
  /** The id clients pass as model_id. */
  readonly id: string;
  /** What it draws, in a sentence. */
  readonly description: string;
  readonly widthPx: number;
  readonly heightPx: number;
  /**
   * zlib level for the PNG encoder, 0-9. Noise does not compress, so its
   * model stores it (level 0): the same size as level 6 at half the time.
   */
  readonly compressionLevel: number;
  /** Draws one image on a canvas of widthPx × heightPx (given again for convenience). */
  draw(context: Context2d, random: Random, widthPx: number, heightPx: number): void;
}

/**
 * The models this server runs, in the order ListModels reports them.
 *
 * - noise-1000 is the original proof of concept's workload: 1000×1000 RGB
 *   random noise, about 3.0 MB per PNG, so a batch of 10 is about 30.1 MB in
 *   40 chunks of 1 MB.
 * - test-model is the model id the proof of concept's own client asks for:
 *   1024×1024 RGB uniform noise, as its server drew, about 3.15 MB per PNG,
 *   so a batch of 10 is about 31.5 MB in 40 chunks.
 * - scene-1024 draws a landscape the way an image model's output looks: sky,
 *   sun, ridges, water and film grain; about 1-2 MB per PNG.
 * - thumb-64 draws the same kind of scene at 64×64, a few KB per image: the
 *   small-payload case where a whole response stays under 100 KB.
 * - noise-1k, noise-10k, noise-100k, noise-1m and noise-10m are squares of
 *   RGB noise whose PNG is about 1 KB, 10 KB, 100 KB, 1 MB and 10 MB (with
 *   noise-1000 at 3 MB): the sizes of the benchmark's payload sweep. Noise
 *   does not compress, so the PNG size follows from the side alone.
 */
export const modelProfiles: readonly ModelProfile[] = [
  {
    id: "noise-1000",
    description: "1000×1000 RGB uniform noise, the proof of concept's workload (about 3.0 MB/PNG)",
    widthPx: 1000,
    heightPx: 1000,
    compressionLevel: 0,
    draw: drawNoise,
  },
  {
    id: "test-model",
    description:
      "1024×1024 RGB uniform noise, the model id and image size of the proof of concept's own client and server (about 3.15 MB/PNG)",
    widthPx: 1024,
    heightPx: 1024,
    compressionLevel: 0,
    draw: drawNoise,
  },
  {
    id: "scene-1024",
    description: "1024×1024 drawn landscape with film grain, like an image model's output",
    widthPx: 1024,
    heightPx: 1024,
    compressionLevel: 6,
    draw: (context, random) => drawScene(context, random, 1024, 1024, 10),
  },
  {
    id: "thumb-64",
    description: "64×64 drawn landscape thumbnail, a few KB: the small-payload case",
    widthPx: 64,
    heightPx: 64,
    compressionLevel: 6,
    draw: (context, random) => drawScene(context, random, 64, 64, 0),
  },
  sweepModel("noise-1k", 17, "1 KB"),
  sweepModel("noise-10k", 57, "10 KB"),
  sweepModel("noise-100k", 182, "100 KB"),
  // 576, not 577: the PNG stays under 1,000,000 bytes, so it is one chunk.
  sweepModel("noise-1m", 576, "1 MB"),
  sweepModel("noise-10m", 1824, "10 MB"),
];

/** A square of RGB noise whose PNG is about `size`: one step of the payload sweep. */
function sweepModel(id: string, sidePx: number, size: string): ModelProfile {
  return {
    id,
    description: `${sidePx}×${sidePx} RGB uniform noise, about ${size} per PNG: a step of the payload-size sweep`,
    widthPx: sidePx,
    heightPx: sidePx,
    compressionLevel: 0,
    draw: drawNoise,
  };
}

/** Finds a model profile by id. */
export function findModel(id: string): ModelProfile | undefined {
  return modelProfiles.find((model) => model.id === id);
}

// One ImageData per canvas, reused: the generator reuses canvases too, and
// a canvas keeps its size, so its ImageData fits it.
const noiseImages = new WeakMap<Context2d, { data: Uint8ClampedArray }>();

function drawNoise(context: Context2d, random: Random, widthPx: number, heightPx: number): void {
  let image = noiseImages.get(context);
  if (image === undefined) {
    image = context.createImageData(widthPx, heightPx);
    noiseImages.set(context, image);
  }
  const words = new Uint32Array(image.data.buffer, image.data.byteOffset, image.data.length / 4);
  random.fill(words);
  // Opaque pixels: on little-endian machines the alpha byte is the top one.
  for (let i = 0; i < words.length; i++) {
    words[i] = (words[i] as number) | 0xff000000;
  }
  context.putImageData(image, 0, 0);
}

function drawScene(
  context: Context2d,
  random: Random,
  widthPx: number,
  heightPx: number,
  grain: number,
): void {
  const hue = random.range(0, 360);
  const horizon = heightPx * random.range(0.45, 0.62);

  const sky = context.createLinearGradient(0, 0, 0, horizon);
  sky.addColorStop(0, `hsl(${hue}, 55%, 18%)`);
  sky.addColorStop(0.6, `hsl(${(hue + 30) % 360}, 65%, 45%)`);
  sky.addColorStop(1, `hsl(${(hue + 50) % 360}, 80%, 72%)`);
  context.fillStyle = sky;
  context.fillRect(0, 0, widthPx, horizon);

  const sunX = widthPx * random.range(0.15, 0.85);
  const sunY = horizon * random.range(0.35, 0.85);
  const sunR = widthPx * random.range(0.05, 0.11);
  const glow = context.createRadialGradient(sunX, sunY, sunR * 0.2, sunX, sunY, sunR * 4);
  glow.addColorStop(0, "rgba(255, 250, 220, 1)");
  glow.addColorStop(0.25, "rgba(255, 210, 150, 0.6)");
  glow.addColorStop(1, "rgba(255, 180, 120, 0)");
  context.fillStyle = glow;
  context.fillRect(0, 0, widthPx, horizon);
  context.fillStyle = "rgb(255, 246, 225)";
  context.beginPath();
  context.arc(sunX, sunY, sunR, 0, 2 * Math.PI);
  context.fill();

  const layers = 3 + Math.floor(random.range(0, 3));
  for (let layer = 0; layer < layers; layer++) {
    const depth = (layer + 1) / layers;
    const base = horizon - heightPx * 0.22 * (1 - depth) * random.range(0.6, 1.2);
    const ridge = ridgeLine(random, 6, heightPx * 0.12 * (1.2 - depth));
    context.fillStyle = `hsl(${(hue + 200 + layer * 8) % 360}, ${25 + depth * 20}%, ${
      45 - depth * 32
    }%)`;
    context.beginPath();
    context.moveTo(0, horizon);
    for (let i = 0; i < ridge.length; i++) {
      context.lineTo((i / (ridge.length - 1)) * widthPx, base - (ridge[i] as number));
    }
    context.lineTo(widthPx, horizon);
    context.closePath();
    context.fill();
  }

  const water = context.createLinearGradient(0, horizon, 0, heightPx);
  water.addColorStop(0, `hsl(${(hue + 40) % 360}, 45%, 55%)`);
  water.addColorStop(1, `hsl(${(hue + 210) % 360}, 50%, 12%)`);
  context.fillStyle = water;
  context.fillRect(0, horizon, widthPx, heightPx - horizon);

  context.globalAlpha = 0.35;
  context.fillStyle = "rgb(255, 235, 200)";
  const streaks = Math.max(4, Math.round(heightPx / 12));
  for (let i = 0; i < streaks; i++) {
    const y = horizon + (heightPx - horizon) * (i / streaks) + random.range(0, 4);
    const w = sunR * random.range(0.5, 2.5) * (1 + i / streaks);
    context.fillRect(sunX - w / 2, y, w, Math.max(1, heightPx / 400));
  }
  context.globalAlpha = 1;

  if (grain > 0) {
    addGrain(context, random, widthPx, heightPx, grain);
  }
}

/** Midpoint displacement: a ridge line of 2^depth + 1 heights. */
function ridgeLine(random: Random, depth: number, amplitude: number): number[] {
  const size = 2 ** depth + 1;
  const heights = new Array<number>(size).fill(0);
  heights[0] = random.range(0, amplitude);
  heights[size - 1] = random.range(0, amplitude);
  let spread = amplitude;
  for (let step = size - 1; step > 1; step /= 2) {
    for (let i = step / 2; i < size; i += step) {
      const mid = ((heights[i - step / 2] as number) + (heights[i + step / 2] as number)) / 2;
      heights[i] = mid + random.range(-spread, spread);
    }
    spread /= 2;
  }
  return heights.map((h) => Math.max(0, h + amplitude * 0.5));
}

/** Film grain: ±amount on each channel, the texture of a sampled image. */
function addGrain(
  context: Context2d,
  random: Random,
  widthPx: number,
  heightPx: number,
  amount: number,
): void {
  const image = context.getImageData(0, 0, widthPx, heightPx);
  const data = image.data;
  for (let i = 0; i < data.length; i += 4) {
    const n = (random.nextUint32() % (2 * amount + 1)) - amount;
    data[i] = (data[i] as number) + n;
    data[i + 1] = (data[i + 1] as number) + n;
    data[i + 2] = (data[i + 2] as number) + n;
  }
  context.putImageData(image, 0, 0);
}
