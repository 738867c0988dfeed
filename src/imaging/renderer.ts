import { createRequire } from "node:module";

/**
 * The Canvas implementations ModelMora can draw with. "canvas" is
 * node-canvas (Cairo), the one the design names; "@napi-rs/canvas" (Skia)
 * ships prebuilt binaries inside npm packages and is the fallback on machines
 * where node-canvas could not be built.
 */
export type RendererName = "canvas" | "@napi-rs/canvas";

/** The part of the HTML Canvas 2D context the models draw with. */
export interface Context2d {
  fillStyle: unknown;
  strokeStyle: unknown;
  globalAlpha: number;
  lineWidth: number;
  fillRect(x: number, y: number, w: number, h: number): void;
  beginPath(): void;
  closePath(): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  quadraticCurveTo(cpx: number, cpy: number, x: number, y: number): void;
  arc(x: number, y: number, r: number, start: number, end: number): void;
  ellipse(
    x: number,
    y: number,
    rx: number,
    ry: number,
    rotation: number,
    start: number,
    end: number,
  ): void;
  fill(): void;
  stroke(): void;
  createLinearGradient(x0: number, y0: number, x1: number, y1: number): Gradient;
  createRadialGradient(
    x0: number,
    y0: number,
    r0: number,
    x1: number,
    y1: number,
    r1: number,
  ): Gradient;
  createImageData(w: number, h: number): { data: Uint8ClampedArray };
  getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  putImageData(data: { data: Uint8ClampedArray }, x: number, y: number): void;
}

/** A canvas gradient. */
export interface Gradient {
  addColorStop(offset: number, color: string): void;
}

/** An opaque canvas and the way to turn it into a PNG file. */
export interface Surface {
  readonly context: Context2d;
  /**
   * Encodes the canvas as PNG off the main thread (both implementations use
   * libuv's thread pool). compressionLevel is zlib's 0-9; only node-canvas
   * honours it.
   */
  encodePng(compressionLevel: number): Promise<Buffer>;
}

/** A loaded Canvas implementation. */
export interface Renderer {
  readonly name: RendererName;
  /** Creates an opaque canvas of the given size in pixels. */
  createSurface(widthPx: number, heightPx: number): Surface;
}

/** Options for loadRenderer. */
export interface LoadRendererOptions {
  /**
   * Which implementation to load. "auto" (the default) tries node-canvas
   * first and falls back to @napi-rs/canvas when node-canvas is not
   * installed or its native module does not load.
   */
  prefer?: RendererName | "auto";
}

// The renderers are CommonJS packages with native modules; require keeps
// their loading synchronous, so a failed load is a plain exception.
const require = createRequire(import.meta.url);

/**
 * Loads a Canvas implementation. Throws when the requested one (or, for
 * "auto", both) cannot be loaded, with the reason of each attempt.
 */
export function loadRenderer(options: LoadRendererOptions = {}): Renderer {
  const prefer = options.prefer ?? "auto";
  const order: RendererName[] = prefer === "auto" ? ["canvas", "@napi-rs/canvas"] : [prefer];
  const failures: string[] = [];
  for (const name of order) {
    try {
      return name === "canvas" ? nodeCanvasRenderer() : napiCanvasRenderer();
    } catch (err) {
      failures.push(`${name}: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
    }
  }
  throw new Error(`no Canvas implementation could be loaded (${failures.join("; ")})`);
}

interface NodeCanvasCanvas {
  getContext(kind: "2d", options: { pixelFormat: string }): Context2d;
  toBuffer(
    callback: (err: Error | null, png: Buffer) => void,
    mime: "image/png",
    config: { compressionLevel: number; filters: number },
  ): void;
  PNG_FILTER_NONE: number;
}

function nodeCanvasRenderer(): Renderer {
  const lib = require("canvas") as {
    createCanvas(w: number, h: number): NodeCanvasCanvas;
  };
  // Loading the module is not enough: a broken native build fails on use.
  lib.createCanvas(1, 1).getContext("2d", { pixelFormat: "RGB24" });
  return {
    name: "canvas",
    createSurface(widthPx, heightPx) {
      const canvas = lib.createCanvas(widthPx, heightPx);
      // RGB24 makes Cairo write an RGB PNG without an alpha channel: a
      // quarter fewer bytes to deflate and send than RGBA.
      const context = canvas.getContext("2d", { pixelFormat: "RGB24" });
      return {
        context,
        encodePng(compressionLevel) {
          return new Promise<Buffer>((resolve, reject) => {
            canvas.toBuffer(
              (err, png) => (err ? reject(err) : resolve(png)),
              "image/png",
              // Unfiltered rows: filters cost time and win nothing on noise,
              // and little on the smooth scenes.
              { compressionLevel, filters: canvas.PNG_FILTER_NONE },
            );
          });
        },
      };
    },
  };
}

interface NapiCanvas {
  getContext(kind: "2d", options: { alpha: boolean }): Context2d;
  encode(format: "png"): Promise<Buffer>;
}

function napiCanvasRenderer(): Renderer {
  const lib = require("@napi-rs/canvas") as {
    createCanvas(w: number, h: number): NapiCanvas;
  };
  lib.createCanvas(1, 1).getContext("2d", { alpha: false });
  return {
    name: "@napi-rs/canvas",
    createSurface(widthPx, heightPx) {
      const canvas = lib.createCanvas(widthPx, heightPx);
      const context = canvas.getContext("2d", { alpha: false });
      return {
        context,
        encodePng: () => canvas.encode("png"),
      };
    },
  };
}
