/**
 * The bench's clients and the rows they measure: one client per library
 * (connect-node, the wire clients, node:http for REST and the bare
 * baselines, grpc-js), and the registry of row families that new client
 * stacks plug into. The door of bench/clients/.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import { baselineRowInfos } from "./baseline-rows.js";
import type { RowInfo } from "./rows.js";
import { protocolRowInfos } from "./target-rows.js";

export {
  type BaselineEndpoint,
  type BaselineEndpoints,
  baselineRowIds,
  baselineRowInfos,
  baselineRows,
} from "./baseline-rows.js";
export {
  type ClientStack,
  httpLabel,
  matchesFilter,
  type OpenedFamily,
  type ProtocolFamily,
  protocolFamilies,
  protocolTitles,
  type RowFamily,
  type RowInfo,
  type RowSpec,
  type TargetRowContext,
} from "./rows.js";
export { protocolRowInfos, rowFamilies } from "./target-rows.js";
export type { BenchClient, ExtraHeaders, StreamCall, StreamOutcome } from "./types.js";

/** Every row the bench knows, protocol rows then baselines. */
export const rowCatalog: readonly RowInfo[] = [...protocolRowInfos, ...baselineRowInfos];

/** Every known row id, for --protocols and --baselines. */
export const knownRowIds: readonly string[] = rowCatalog.map((row) => row.id);
export { type OpenRows, openFamilies } from "./open-families.js";
