#!/usr/bin/env node
/**
 * The package's command, `modelmora`:
 *
 *   npx modelmora serve [flags]     starts the server (the flags of `npm run serve --`)
 *   npx modelmora serve --help      lists every flag, its environment variable and default
 *   npx modelmora --version
 *
 * A thin dispatcher: `serve` hands its flags to the CLI (src/cli.ts), which
 * owns parsing, signals and exit codes.
 */
import { createRequire } from "node:module";
import { runCli } from "../cli.js";

const usage = `Usage: modelmora <command>

Commands:
  serve [flags]   start the server: gRPC, gRPC-Web, Connect and REST on one port
                  (modelmora serve --help lists the flags)

Options:
  -h, --help      this text
  --version       the package's version
`;

const [command, ...args] = process.argv.slice(2);
switch (command) {
  case "serve":
    runCli(args, "modelmora serve");
    break;
  case "-h":
  case "--help":
  case "help":
    process.stdout.write(usage);
    break;
  case "--version": {
    // dist/bin/ and src/bin/ are both two folders below package.json.
    const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };
    process.stdout.write(`${version}\n`);
    break;
  }
  default:
    process.stderr.write(
      command === undefined
        ? usage
        : `modelmora: unknown command "${command}"; the command is serve\n\n${usage}`,
    );
    process.exitCode = 2;
}
