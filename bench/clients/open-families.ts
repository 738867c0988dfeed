/**
 * Opens the row families the options ask for against the server under
 * test: each family gets the rows of its own that --protocols keeps, and
 * says which it can't offer on this machine.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import type { RunLog } from "../cli/index.js";
import { matchesFilter, type RowSpec, type TargetRowContext } from "./rows.js";
import { protocolRowInfos, rowFamilies } from "./target-rows.js";

/** The opened families' rows, and how to close them. */
export interface OpenRows {
  readonly rows: readonly RowSpec[];
  close(): Promise<void>;
}

/** Opens every family with a wanted row; a family that fails to open is logged as a failure. */
export async function openFamilies(context: TargetRowContext, log: RunLog): Promise<OpenRows> {
  const known = protocolRowInfos.map((row) => row.id);
  const rows: RowSpec[] = [];
  const closers: (() => Promise<void>)[] = [];
  for (const family of rowFamilies) {
    // The browser rows start Chromium: only when the run asks for them.
    if (family.id === "browser" && !context.options.browserRows) continue;
    const wanted = family.rows.filter((row) =>
      matchesFilter(row.id, context.options.protocolFilter, known),
    );
    if (wanted.length === 0) continue;
    try {
      const opened = await family.open(context, wanted);
      rows.push(...opened.rows);
      closers.push(() => opened.close());
      for (const skipped of opened.skipped ?? []) log.skip(skipped.row, skipped.reason);
    } catch (err) {
      log.fail(family.id, `could not start: ${(err as Error).message.split("\n")[0]}`);
    }
  }
  return {
    rows,
    async close() {
      await Promise.all(closers.map((close) => close()));
    },
  };
}
