/**
 * Runs the examples of docs/production.md against real servers, so the
 * docs can't drift (docs/api.md's run against the packed npm package, in
 * test/sdk/tarball.spec.ts): every fenced block preceded by
 * `<!-- run: SERVER expect="TEXT" -->` runs (sh with bash, ts and js with
 * tsx, python with a Python that has grpcio), and must exit 0 and print
 * TEXT. Every curl example must be marked so. Also checks that every CLI
 * flag and environment variable is documented.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SignJWT } from "jose";
import {
  blocksOf,
  type DocBlock,
  httpRequest,
  makeCertificate,
  makeTempDir,
  pointAt,
  pythonForExamples,
  type RunResult,
  repoRoot,
  run,
  runCli,
  skipWithoutPython,
  startServer,
  type TempDir,
  type TestServer,
  unmarkedCurlBlocks,
} from "../support/index.js";

type ServerName = "open" | "auth" | "limits" | "tls";

const docFiles = ["docs/production.md"];
const docs = await Promise.all(
  docFiles.map(async (file) => blocksOf(await readFile(join(repoRoot, file), "utf8"), file)),
);
const allBlocks = docs.flat();

describe("the examples in docs/", () => {
  const servers = new Map<ServerName, TestServer>();
  let work: TempDir;
  /** Where ts/js examples are written, so they resolve this repository's packages. */
  const scriptDir = join(repoRoot, "node_modules", ".cache", "modelmora-docs");
  let env: NodeJS.ProcessEnv;
  let python: string | undefined;
  let noPython = "";

  before(async () => {
    work = await makeTempDir();
    await symlink(join(repoRoot, "proto"), join(work.path, "proto"));
    await mkdir(scriptDir, { recursive: true });
    const certificate = await makeCertificate(work.path);
    const apiKey = `mm_docs_${randomBytes(12).toString("hex")}`;
    const monitoringKey = `mm_ops_${randomBytes(12).toString("hex")}`;
    const secret = randomBytes(48).toString("base64url");
    const secretFile = join(work.path, "jwt-secret.txt");
    await writeFile(secretFile, `${secret}\n`);
    const token = await new SignJWT({ scope: "inference models" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("docs")
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode(secret));

    servers.set("open", await startServer());
    servers.set(
      "auth",
      await startServer({
        auth: {
          apiKeys: [
            { id: "docs", key: apiKey, scopes: ["inference", "models"] },
            { id: "ops", key: monitoringKey, scopes: ["monitoring"] },
          ],
          jwt: { hs256Secret: new TextEncoder().encode(secret) },
        },
        publicHealth: false,
        publicMetrics: false,
      }),
    );
    // The limiter runs on a clock of the test's: time moves only when told.
    let limitsClockMs = Date.now();
    const limits = await startServer({
      keyLimits: { requestsPerSecond: 1, burst: 1 },
      now: () => limitsClockMs,
    });
    // ListModels sizes the models on its first call; do that now, then move
    // the clock on a second so the bucket is full again and the example's
    // first call is quick and allowed (its second, at the same instant, not).
    assert.equal((await httpRequest(limits, { method: "GET", path: "/v1/models" })).status, 200);
    limitsClockMs += 1000;
    servers.set("limits", limits);
    servers.set(
      "tls",
      await startServer({
        tls: { cert: certificate.cert, key: await readFile(certificate.keyPath) },
      }),
    );

    const examplesPython = await pythonForExamples(work.path);
    ({ python, noPython } = examplesPython);
    const { bin } = examplesPython;
    env = {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      MODELMORA_API_KEY: apiKey,
      MODELMORA_MONITORING_KEY: monitoringKey,
      MODELMORA_TOKEN: token,
      MODELMORA_JWT_SECRET_FILE: secretFile,
    };
  });
  after(async () => {
    for (const server of servers.values()) {
      await server.close();
    }
    await work?.remove();
    await rm(scriptDir, { recursive: true, force: true });
  });

  it("marks every curl example to be run", () => {
    assert.deepEqual(
      unmarkedCurlBlocks(allBlocks),
      [],
      "curl examples without a <!-- run: … --> marker",
    );
  });

  for (const block of allBlocks.filter((b) => b.run !== undefined)) {
    const { where, expect } = block.run as NonNullable<DocBlock["run"]>;
    const serverName = where as ServerName;
    it(`${block.file}:${block.line} (${block.lang}, ${serverName} server)`, async (t) => {
      const server = servers.get(serverName);
      assert.ok(server, `no server named ${serverName}`);
      const code = pointAt(block.code, server.url);
      let result: RunResult;
      switch (block.lang) {
        case "sh":
          if (/python3/.test(code) && python === undefined) {
            skipWithoutPython(t, noPython);
            return;
          }
          // Name the interpreter by its path: bash may re-order PATH (a
          // BASH_ENV that runs `pyenv init`, say) and find another python3.
          result = await run(
            "bash",
            ["-e", "-o", "pipefail", "-c", code.replace(/^python3 /gm, `${python ?? "python3"} `)],
            { cwd: work.path, env },
          );
          break;
        case "ts":
        case "js": {
          const script = join(scriptDir, `${block.file.replace(/\W/g, "-")}-${block.line}.mts`);
          await writeFile(script, code);
          // The examples run in a scratch folder: name tsx by its full URL.
          result = await run(process.execPath, ["--import", import.meta.resolve("tsx"), script], {
            cwd: work.path,
            env,
          });
          break;
        }
        case "python": {
          if (python === undefined) {
            skipWithoutPython(t, noPython);
            return;
          }
          const script = join(work.path, `example-${block.line}.py`);
          await writeFile(script, code);
          result = await run(python, [script], { cwd: work.path, env });
          break;
        }
        default:
          assert.fail(`no runner for ${block.lang} blocks`);
      }
      const stdout = result.stdout.toString("utf8");
      assert.equal(
        result.code,
        0,
        `exit ${result.code}\nstdout: ${stdout}\nstderr: ${result.stderr}`,
      );
      if (expect !== undefined) {
        assert.ok(stdout.includes(expect), `expected "${expect}" in:\n${stdout}${result.stderr}`);
      }
    });
  }
});

describe("docs/production.md documents every setting", () => {
  it("names every flag and environment variable of --help, and MODELMORA_API_KEYS", async () => {
    const help = await runCli(["--help"]);
    assert.equal(help.code, 0);
    const text = help.stdout.toString("utf8");
    const flags = [...text.matchAll(/^ {2}(--[a-z0-9-]+)/gm)].map((match) => match[1] as string);
    const envs = [...text.matchAll(/\(([A-Z][A-Z0-9_]+)(?:, [^)]*)?\)$/gm)].map(
      (match) => match[1] as string,
    );
    assert.ok(flags.length >= 20 && envs.length === flags.length, "parsed the --help table");
    const doc = await readFile(join(repoRoot, "docs/production.md"), "utf8");
    for (const name of [...flags, ...envs, "MODELMORA_API_KEYS"]) {
      assert.ok(doc.includes(`\`${name}\``), `${name} is not in docs/production.md`);
    }
  });
});
