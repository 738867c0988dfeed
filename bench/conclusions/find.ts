/**
 * Lookups over a run's results that every conclusion needs: one row in one
 * scenario, mode and step; the rows a user of a client stack would run;
 * the client stacks measured.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import { groupKey, type RowResult, type Spread } from "../results/index.js";

/** Where a figure comes from. */
export interface Place {
  readonly scenario: RowResult["scenario"];
  readonly mode: RowResult["mode"];
  /** The step key (stepKey): a payload model, "10/shared", "small@50"; "" outside sweeps. */
  readonly step?: string;
}

/** The group key of a place, as groupKey computes it for results. */
function placeKey(place: Place): string {
  return `${place.scenario}/${place.mode}${place.step ? `/${place.step}` : ""}`;
}

/** The ok results at a place. */
export function okAt(results: readonly RowResult[], place: Place): RowResult[] {
  const key = placeKey(place);
  return results.filter((r) => r.status === "ok" && groupKey(r) === key);
}

/** The result of row at a place, whatever its status. */
export function findAt(
  results: readonly RowResult[],
  place: Place,
  row: string,
): RowResult | undefined {
  const key = placeKey(place);
  return results.find((r) => r.row === row && groupKey(r) === key);
}

/** The ok result of row at a place that has a spread. */
export function measuredAt(
  results: readonly RowResult[],
  place: Place,
  row: string,
): (RowResult & { spread: Spread }) | undefined {
  const found = findAt(results, place, row);
  return found?.status === "ok" && found.spread !== undefined
    ? (found as RowResult & { spread: Spread })
    : undefined;
}

/** A row a user of its client stack would run: a protocol row that is not diagnostic. */
export function isUserRow(result: RowResult): boolean {
  return result.kind === "protocol" && result.diagnostic !== true;
}

/** The client stacks whose protocol rows ran, in the order first seen ("node" first). */
export function clientStacks(results: readonly RowResult[]): string[] {
  const stacks = new Set<string>();
  for (const result of results) {
    if (isUserRow(result)) stacks.add(result.client);
  }
  return [...stacks].sort((a, b) => (a === "node" ? -1 : b === "node" ? 1 : 0));
}

/** The client stacks the report knows how to name, and their names. */
export const clientStackNames: Readonly<Record<string, string>> = {
  node: "Node clients",
  "node-sdk": "Node clients through this project's SDK (client.streamImages)",
  python: "Python clients",
  browser: "browsers",
};

/** A client stack's name in a sentence: "Node clients". */
export function stackName(client: string): string {
  return clientStackNames[client] ?? `${client} clients`;
}

/** Sorted by headline, highest first. */
export function byHeadline<T extends { spread?: Spread }>(rows: readonly T[]): T[] {
  return [...rows].sort((a, b) => (b.spread?.median ?? 0) - (a.spread?.median ?? 0));
}
