import { availableParallelism } from "node:os";

/**
 * The number of workers a `--workers` value asks for: a whole number from
 * 1, or "auto" for os.availableParallelism() (the cores this process may
 * run on; in a container with a CPU quota, give the number instead).
 * Throws an Error whose message says what is accepted.
 */
export function workerCountFromString(text: string): number {
  const value = text.trim().toLowerCase();
  if (value === "auto") {
    return availableParallelism();
  }
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new Error(`must be a whole number ≥ 1 or auto, got "${text}"`);
  }
  return Number(value);
}

/**
 * The render slots (ServerOptions.maxConcurrentRenders) of each of
 * `workers` workers: the cores shared out, at least 1 each, so N workers
 * don't each draw as many images at once as there are cores.
 */
export function rendersPerWorker(workers: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / workers));
}
