/**
 * README.md can't drift: every ```sh block with a curl line runs with sh
 * against a real server (localhost:8080 rewritten to its port), must exit 0
 * and print what the `<!-- expect: TEXT -->` comment before it says; PNG
 * files it writes must be valid. The configuration table must name every
 * flag and variable of `--help`.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  inspectPng,
  repoRoot,
  run,
  runCli,
  startServer,
  type TestServer,
} from "../support/index.js";

const readme = await readFile(join(repoRoot, "README.md"), "utf8");

interface Example {
  /** The text its output must contain. */
  expect: string | undefined;
  script: string;
  line: number;
}

/** The ```sh blocks that run curl, with the expect comment before each. */
function curlExamples(markdown: string): Example[] {
  const examples: Example[] = [];
  const block = /(?:<!-- expect: (.*?) -->\n)?```sh\n([\s\S]*?)```/g;
  for (const match of markdown.matchAll(block)) {
    const script = match[2] as string;
    if (/^\s*curl\b/m.test(script)) {
      examples.push({
        expect: match[1],
        script,
        line: markdown.slice(0, match.index).split("\n").length,
      });
    }
  }
  return examples;
}

const examples = curlExamples(readme);

describe("README.md", () => {
  let srv: TestServer;
  let dir: string;
  before(async () => {
    srv = await startServer();
    dir = await mkdtemp(join(tmpdir(), "modelmora-readme-"));
  });
  after(async () => {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("shows curl for every way in", () => {
    const all = examples.map((example) => example.script).join("\n");
    for (const needle of [
      "-d '{}'",
      "/ListModels?connect=v1&encoding=json&message=",
      "application/connect+json",
      "/StreamInference",
      "-o fox.png",
      '"batch_size":3',
      "/healthz",
      "/v1/models",
      "--http2-prior-knowledge",
    ]) {
      assert.ok(all.includes(needle), `no curl example with ${needle}`);
    }
  });

  for (const example of examples) {
    const firstLine = example.script.split("\n")[0] as string;
    it(`runs the example at line ${example.line}: ${firstLine.slice(0, 60)}`, async () => {
      assert.ok(example.expect, "the block has no <!-- expect: ... --> comment before it");
      const script = example.script.replaceAll("localhost:8080", `localhost:${srv.port}`);
      assert.notEqual(script, example.script, "the example does not use localhost:8080");
      const exampleDir = await mkdtemp(join(dir, "example-"));
      const result = await run("sh", ["-e", "-c", script], { cwd: exampleDir });
      const stdout = result.stdout.toString("utf8");
      assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}${stdout}`);
      assert.equal(result.stderr, "", "curl complained");
      assert.ok(stdout.includes(example.expect), `output lacks ${example.expect}:\n${stdout}`);
      for (const name of await readdir(exampleDir)) {
        if (name.endsWith(".png")) {
          inspectPng(await readFile(join(exampleDir, name)));
        }
      }
    });
  }

  it("documents every flag and environment variable of --help", async () => {
    const help = await runCli(["--help"]);
    assert.equal(help.code, 0);
    const lines = help.stdout
      .toString("utf8")
      .split("\n")
      .filter((line) => /^\s+--/.test(line));
    assert.ok(lines.length >= 10, "no flags in --help");
    for (const line of lines) {
      const flag = /--[a-z0-9-]+/.exec(line)?.[0] as string;
      const env = /\(([A-Z0-9_]+)[,)]/.exec(line)?.[1] as string;
      assert.ok(readme.includes(`| \`${flag}\``), `README's table lacks ${flag}`);
      assert.ok(readme.includes(`\`${env}\``), `README's table lacks ${env}`);
    }
  });

  it("documents every error code the tests check", () => {
    for (const code of ["not_found", "invalid_argument", "unimplemented"]) {
      assert.ok(readme.includes(`| \`${code}\``), `no row for ${code}`);
    }
  });
});
