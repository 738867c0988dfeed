/**
 * Starts everything a run measures, in parallel where it can: the server
 * under test (spawned, or the --url one) and the baselines, cutting chunks
 * of the same size so the rows compare like with like.
 *
 * Library module of `npm run bench`; reads MODELMORA_CHUNK_BYTES and
 * MODELMORA_RENDERER as the spawned server will, so the baselines match it.
 */
import { authHeaders, type BenchOptions, type RunLog } from "../cli/index.js";
import { baselineRowIds, matchesFilter } from "../clients/index.js";
import { type OpenTargetOptions, openTarget, type Target } from "./open-target.js";
import { type Baselines, startBaselines } from "./start-baselines.js";

/** The server under test and the running baselines. */
export interface Targets {
  readonly target: Target;
  readonly baselines: Baselines | undefined;
  /** The chunk size the baselines cut at, bytes. */
  readonly baselineChunkBytes: number;
  /** The server under test's chunk size, bytes (ListModels, else what it was given). */
  readonly targetChunkBytes: number;
}

/** The server's default chunk size, bytes (the proof of concept's 1 MB). */
const serverDefaultChunkBytes = 1_000_000;

/** The (model, image count) pairs transport-only mode serves, for the grpcio baseline to hold. */
function fixedImages(options: BenchOptions): { model: string; count: number }[] {
  const images = new Map<string, number>();
  const need = (model: string, count: number) =>
    images.set(model, Math.max(images.get(model) ?? 0, count));
  if (options.scenarios.includes("single")) need(options.model, options.batch);
  if (options.scenarios.includes("load")) need(options.model, options.loadBatch);
  if (options.scenarios.includes("small") || options.scenarios.includes("open-loop")) {
    need(options.smallModel, options.smallBatch);
  }
  if (options.scenarios.includes("payload")) {
    for (const model of options.payloadModels) need(model, 1);
  }
  if (options.scenarios.includes("concurrency")) need(options.concurrencyModel, 1);
  return [...images].map(([model, count]) => ({ model, count }));
}

/** What startTargets needs. */
export interface StartTargetsOptions {
  readonly options: BenchOptions;
  readonly log: RunLog;
  /** The prompt of transport-only mode, whose images the grpcio baseline must hold. */
  readonly fixedPrompt: string;
  /** Receives each process as soon as it runs, so the caller can stop it even if another failed. */
  onStarted(started: { target?: Target; baselines?: Baselines }): void;
}

/** Starts the target and the baselines. */
export async function startTargets({
  options,
  log,
  fixedPrompt,
  onStarted,
}: StartTargetsOptions): Promise<Targets> {
  // The spawned server reads these variables too; the baselines get the same settings as flags.
  const envChunkBytes = Number(process.env.MODELMORA_CHUNK_BYTES);
  const defaultChunkBytes =
    options.chunkBytes ??
    (Number.isSafeInteger(envChunkBytes) && envChunkBytes > 0
      ? envChunkBytes
      : serverDefaultChunkBytes);
  const renderer = options.renderer ?? process.env.MODELMORA_RENDERER;
  const wanted = new Set<string>(
    options.baselines
      ? baselineRowIds.filter((id) => matchesFilter(id, options.baselineFilter, baselineRowIds))
      : [],
  );
  const targetOptions: OpenTargetOptions = {
    url: options.url,
    serverArgs: options.serverArgs,
    windowBytes: options.windowBytes,
    headers: authHeaders(options),
  };
  const opening = openTarget(targetOptions).then((target) => {
    onStarted({ target });
    return target;
  });
  // A server given by --url says its chunk size in ListModels: the baselines
  // wait for it. A spawned one gets the size the bench passed, so both start at once.
  let baselineChunkBytes = defaultChunkBytes;
  if (options.url !== undefined) {
    const target = await opening;
    baselineChunkBytes = options.chunkBytes ?? target.info?.chunkBytes ?? defaultChunkBytes;
  }
  const args = [
    ...options.baselineServerArgs.filter(
      (_, i, all) => all[i] !== "--chunk-bytes" && all[i - 1] !== "--chunk-bytes",
    ),
    "--chunk-bytes",
    String(baselineChunkBytes),
    "--window-bytes",
    String(options.windowBytes),
  ];
  if (renderer !== undefined && !args.includes("--renderer")) args.push("--renderer", renderer);
  const [target, baselines] = await Promise.all([
    opening,
    wanted.size === 0
      ? undefined
      : startBaselines({
          wanted,
          args,
          chunkBytes: baselineChunkBytes,
          python: options.python,
          fixedPrompt,
          fixedImages: fixedImages(options),
          onSkip: log.skip,
          onFail: log.fail,
        }).then((baselines) => {
          onStarted({ baselines });
          return baselines;
        }),
  ]);
  return {
    target,
    baselines,
    baselineChunkBytes,
    targetChunkBytes: target.info?.chunkBytes ?? baselineChunkBytes,
  };
}
