/**
 * The spawned server's settings the bench passes through as they are: each
 * entry is a bench flag that becomes the same flag of `src/cli.ts` (and of
 * the Node baselines where `baselines` is set, so they cut and draw alike).
 * A new server setting the bench should vary (a `--workers`, say) is one
 * more entry here: it then shows in --help, reaches the spawned server and
 * is recorded in the report (its command line).
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */

/** A flag passed through to the spawned server. */
export interface ServerFlag {
  /** The flag's name without dashes, the same for the bench and the server. */
  readonly name: string;
  /** Its value's placeholder in --help. */
  readonly value: string;
  /** One line of help. */
  readonly help: string;
  /** Also passed to the Node baselines. */
  readonly baselines: boolean;
  /** When set, the value must be a whole number of at least this (or one of `words`). */
  readonly minimum?: number;
  /** Values accepted besides whole numbers, e.g. "auto". */
  readonly words?: readonly string[];
}

/** The pass-through flags, in --help order. */
export const serverFlags: readonly ServerFlag[] = [
  {
    name: "chunk-bytes",
    value: "N",
    help: "the spawned server's and baselines' --chunk-bytes",
    baselines: true,
    minimum: 1,
  },
  {
    name: "renderer",
    value: "NAME",
    help: "the spawned server's and baselines' --renderer",
    baselines: true,
  },
  {
    // The server's own processes only: the baselines are single-process
    // ceilings, and on a 2-core machine every worker competes with the client.
    name: "workers",
    value: "N",
    help: "worker processes of the spawned server (its --workers: N or auto; 1)",
    baselines: false,
    minimum: 1,
    words: ["auto"],
  },
];
