/**
 * What the Node baseline servers share: their flags, the image generator
 * (the project's own, so a baseline serves byte-for-byte the images the
 * server under test serves for the same model, prompt and index), chunking,
 * and the small model list of their unary call.
 *
 * Library module of the baseline servers; parses the flags they are given:
 *   --port N (0)  --host H (127.0.0.1)  --chunk-bytes N (1000000)
 *   --window-bytes N (16 MiB)  --renderer auto|canvas|@napi-rs/canvas (auto)
 *   --cache-bytes N (64 MiB, as the server)
 */
import { parseArgs } from "node:util";
import {
  createImageGenerator,
  defaultCacheBytes,
  findModel,
  type ImageGenerator,
  loadRenderer,
  type ModelProfile,
  modelProfiles,
  type RendererName,
} from "../../src/index.js";

/** Settings of a baseline server process. */
export interface BaselineSettings {
  port: number;
  host: string;
  chunkBytes: number;
  windowBytes: number;
  renderer: RendererName | "auto";
  cacheBytes: number;
  /** Flags the caller declared beyond the common ones. */
  extra: Record<string, string | undefined>;
}

/** Parses the common flags plus `extraFlags` (string-valued). */
export function baselineSettingsFromArgs(
  argv: string[],
  extraFlags: readonly string[] = [],
): BaselineSettings {
  const names = ["port", "host", "chunk-bytes", "window-bytes", "renderer", "cache-bytes"];
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(
      [...names, ...extraFlags].map((name) => [name, { type: "string" as const }]),
    ),
    strict: true,
  });
  const value = (name: string) => (values as Record<string, string | undefined>)[name];
  const int = (name: string, fallback: number) => {
    const text = value(name);
    const parsed = text === undefined ? fallback : Number(text);
    if (!Number.isSafeInteger(parsed) || parsed < 0) {
      throw new Error(`--${name} must be a whole number, got "${text}"`);
    }
    return parsed;
  };
  return {
    port: int("port", 0),
    host: value("host") ?? "127.0.0.1",
    chunkBytes: Math.max(1, int("chunk-bytes", 1_000_000)),
    windowBytes: int("window-bytes", 16 * 1024 * 1024),
    renderer: (value("renderer") ?? "auto") as RendererName | "auto",
    cacheBytes: int("cache-bytes", defaultCacheBytes),
    extra: Object.fromEntries(extraFlags.map((name) => [name, value(name)])),
  };
}

/** The project's image generator, configured as the server configures it. */
export function createBaselineGenerator(settings: BaselineSettings): ImageGenerator {
  return createImageGenerator({
    renderer: loadRenderer({ prefer: settings.renderer }),
    cacheBytes: settings.cacheBytes,
  });
}

/** Finds a model or throws a message naming the known ones. */
export function modelOrThrow(id: string): ModelProfile {
  const model = findModel(id);
  if (model === undefined) {
    throw new Error(`unknown model "${id}"; one of: ${modelProfiles.map((m) => m.id).join(", ")}`);
  }
  return model;
}

/** Views of png cut at chunkBytes; no copies. */
export function* chunksOf(png: Buffer, chunkBytes: number): Generator<Buffer> {
  for (let offset = 0; offset === 0 || offset < png.byteLength; offset += chunkBytes) {
    yield png.subarray(offset, offset + chunkBytes);
  }
}

/** The unary answer of the baselines: about the size of ListModels' answer. */
export function modelListJson(generator: ImageGenerator, chunkBytes: number): string {
  return JSON.stringify({
    models: modelProfiles.map((model) => ({
      id: model.id,
      description: model.description,
      width: model.widthPx,
      height: model.heightPx,
    })),
    maxBatchSize: 32,
    chunkBytes,
    renderer: generator.rendererName,
  });
}

/** Prints the line the bench waits for, on stdout. */
export function announce(name: string, url: string, details: string): void {
  process.stdout.write(`${name} listening on ${url} (${details})\n`);
}

/** Exits quietly on SIGTERM/SIGINT: the bench stops baselines that way. */
export function exitOnSignals(close: () => void): void {
  const stop = () => {
    close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
