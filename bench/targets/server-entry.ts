/**
 * Runs the ModelMora CLI (src/cli.ts) unchanged, with the flags it is
 * given: `node --import tsx bench/targets/server-entry.ts --port 0`. The
 * bench starts the server under test through this file so that its process
 * has a command line of its own: on a shared development machine, a
 * `pkill -f src/cli.ts` meant for someone's own servers would otherwise
 * stop the server under test in the middle of a run.
 */
import { runCli } from "../../src/cli.js";

runCli(process.argv.slice(2));
