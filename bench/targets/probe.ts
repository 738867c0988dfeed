/**
 * The probe that finds which rows can run: one tiny call per row
 * (ListModels, GET /v1/models for REST, GET /models for the bare
 * baselines), so a protocol the target does not serve is skipped with one
 * line (the proof of concept's "REST server not detected" case) instead of
 * failing every scenario.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import type { Progress, RunLog } from "../cli/index.js";
import type { RowInfo, RowSpec } from "../clients/index.js";
import { errorMessage } from "../verify/index.js";

/** Why a probe failed; `auth` when the server refused the credentials, not the protocol. */
export interface ProbeFailure {
  readonly reason: string;
  readonly auth: boolean;
}

/** Longest a probe waits for its answer, ms. */
const probeTimeoutMs = 30_000;

/** The call a row's probe makes, for messages. */
export function probeCall(row: RowInfo): string {
  if (row.protocol === "rest") return "GET /v1/models";
  if (row.id.startsWith("bare")) return "GET /models";
  return "ListModels";
}

/** Why a row can't be measured on its server, or undefined if one small call worked. */
export async function probeRow(row: RowSpec): Promise<ProbeFailure | undefined> {
  const client = row.createClient();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.unary(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${probeTimeoutMs / 1000} s`)),
          probeTimeoutMs,
        );
      }),
    ]);
    return undefined;
  } catch (err) {
    const reason = errorMessage(err);
    // Connect codes 16 (unauthenticated) and 7 (permission denied); REST 401 and 403.
    const code = (err as { code?: unknown }).code;
    const auth = code === 16 || code === 7 || /HTTP 40[13]\b/.test(reason);
    return { reason, auth };
  } finally {
    clearTimeout(timer);
    client.close();
  }
}

/** What probeRows needs. */
export interface ProbeRowsOptions {
  readonly candidates: readonly RowSpec[];
  /** The server under test was spawned by the bench (this project's, which serves every protocol). */
  readonly targetSpawned: boolean;
  readonly log: RunLog;
  readonly progress: Progress;
}

/**
 * Probes each candidate row; returns those that answered. A row that did
 * not is skipped with one line, or fails the run when it should have
 * answered: refused credentials, or a protocol of the spawned server.
 */
export async function probeRows(options: ProbeRowsOptions): Promise<RowSpec[]> {
  const rows: RowSpec[] = [];
  for (const row of options.candidates) {
    options.progress.update(`probe/${row.id}`, `probing ${row.label}`);
    const failure = await probeRow(row);
    if (failure === undefined) {
      rows.push(row);
      continue;
    }
    const probe = probeCall(row);
    if (failure.auth) {
      options.log.fail(
        row.id,
        `the server refused the credentials (probe ${probe}: ${failure.reason}); pass --api-key KEY or --token TOKEN`,
      );
    } else if (row.kind === "protocol" && options.targetSpawned) {
      options.log.fail(
        row.id,
        `the server under test does not answer it (probe ${probe}: ${failure.reason})`,
      );
    } else {
      options.log.skip(
        row.id,
        `${row.kind === "protocol" ? "the target does not serve it" : "the baseline does not answer"} (probe ${probe}: ${failure.reason})`,
      );
    }
  }
  return rows;
}
