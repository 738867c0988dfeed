/**
 * The npm package as a user gets it: `npm pack` (which builds dist/), the
 * tarball copied into an empty folder and installed there, then every
 * example of docs/api.md run in that folder as printed — the imports say
 * "modelmora" and resolve to the installed package; the only change is the
 * port (`localhost:8080` becomes the test server's). The servers are the
 * package's own `modelmora serve` (the docs' `npx modelmora serve` block
 * is the open one), so server and client both come from the tarball.
 *
 * Examples are marked `<!-- run: WHERE expect="TEXT" -->`: `install` runs
 * first, in order (npm installs); `serve` starts in the background and
 * must print TEXT; `open` and `auth` run against a server without and with
 * API keys. sh runs with bash, ts with tsx (from this repository: it only
 * strips types) as `.mts` files, js with node as `.mjs`, python with a
 * Python that has grpcio.
 *
 * npm runs with `prefer_offline` (packages come from the npm cache that
 * `npm ci` filled, the registry only for what is missing) and
 * `ignore_scripts`: node-canvas's install script would try a download
 * from GitHub and then compile against Cairo for a minute or more; without
 * it node-canvas does not load and the package draws with @napi-rs/canvas,
 * whose binary comes prebuilt in an npm package, as on a machine without
 * Cairo. (node-canvas itself is tested by the rest of npm test.) Not
 * `--omit=optional`: @napi-rs/canvas's binary is itself an optional
 * dependency (one package per platform), so that would leave no renderer.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { copyFile, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SignJWT } from "jose";
import {
  blocksOf,
  type DocBlock,
  makeTempDir,
  pointAt,
  pythonForExamples,
  type RunResult,
  repoRoot,
  run,
  skipWithoutPython,
  type TempDir,
  unmarkedCurlBlocks,
  waitFor,
} from "../support/index.js";

const docFile = "docs/api.md";
const blocks = blocksOf(await readFile(join(repoRoot, docFile), "utf8"), docFile);
const runnable = blocks.filter((block) => block.run !== undefined);
/** install blocks first, then serve (it starts the open server), then the rest, each in order. */
const ordered = [
  ...runnable.filter((block) => block.run?.where === "install"),
  ...runnable.filter((block) => block.run?.where === "serve"),
  ...runnable.filter((block) => block.run?.where !== "install" && block.run?.where !== "serve"),
];

/** A server started from the installed package, stopped by stop(). */
interface PackagedServer {
  readonly url: string;
  /** What it printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts a command (in its own process group, so that npx and the node it
 * starts stop together) and waits for "modelmora listening on URL".
 */
async function startServerProcess(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<PackagedServer> {
  const child: ChildProcess = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let text = "";
  child.stdout?.on("data", (data: Buffer) => {
    text += data.toString("utf8");
  });
  child.stderr?.on("data", (data: Buffer) => {
    text += data.toString("utf8");
  });
  const exited = once(child, "exit");
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(-(child.pid as number), "SIGTERM");
    const timer = setTimeout(() => process.kill(-(child.pid as number), "SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitFor(() => {
      if (child.exitCode !== null) assert.fail(`the server exited ${child.exitCode}:\n${text}`);
      return /modelmora listening on \S+/.test(text);
    }, "the server's listening line");
  } catch (err) {
    await stop();
    throw err;
  }
  const url = (/modelmora listening on (\S+)/.exec(text) as RegExpExecArray)[1] as string;
  return { url, output: () => text, stop };
}

describe(`the npm package, installed from its tarball in an empty folder (${docFile})`, () => {
  let work: TempDir;
  /** The user's project folder. */
  let app: string;
  let tarball: string;
  let env: NodeJS.ProcessEnv;
  /** env, and the settings of the server with API keys and JWTs. */
  let authEnv: NodeJS.ProcessEnv;
  let python: string | undefined;
  let noPython = "";
  const servers = new Map<string, PackagedServer>();

  before(async () => {
    work = await makeTempDir();
    app = join(work.path, "app");
    await mkdir(app);
    const packed = await run("npm", ["pack", "--json", "--pack-destination", work.path], {
      cwd: repoRoot,
    });
    assert.equal(packed.code, 0, `npm pack failed:\n${packed.stdout}\n${packed.stderr}`);
    const stdout = packed.stdout.toString("utf8");
    const [info] = JSON.parse(stdout.slice(stdout.indexOf("["))) as { filename: string }[];
    assert.ok(info, "npm pack reported its tarball");
    tarball = join(work.path, info.filename);
    await copyFile(tarball, join(app, info.filename));

    const apiKey = `mm_pack_${randomBytes(12).toString("hex")}`;
    const secret = randomBytes(48).toString("base64url");
    const secretFile = join(work.path, "jwt-secret.txt");
    await writeFile(secretFile, `${secret}\n`);
    const token = await new SignJWT({ scope: "inference models" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("docs")
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode(secret));

    const examplesPython = await pythonForExamples(work.path);
    ({ python, noPython } = examplesPython);
    const { bin } = examplesPython;
    // npm test runs under npm, which exports its own settings (npm_config_*,
    // npm_package_*): an example's npm must see only the ones set here.
    const inherited = Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key));
    env = {
      ...Object.fromEntries(inherited),
      PATH: `${bin}:${process.env.PATH}`,
      npm_config_prefer_offline: "true",
      npm_config_ignore_scripts: "true",
      npm_config_audit: "false",
      npm_config_fund: "false",
      npm_config_update_notifier: "false",
      npm_config_loglevel: "error",
      // `npx modelmora serve` as printed, on a free port.
      PORT: "0",
      MODELMORA_LOG_LEVEL: "warn",
      MODELMORA_API_KEY: apiKey,
      MODELMORA_TOKEN: token,
    };
    authEnv = {
      ...env,
      MODELMORA_API_KEYS: `docs:${apiKey}:inference+models`,
      MODELMORA_JWT_SECRET_FILE: secretFile,
    };
  });

  after(async () => {
    for (const server of servers.values()) await server.stop();
    await work?.remove();
  });

  /** The server an example needs: `open` is the docs' own `npx modelmora serve`. */
  async function serverFor(where: string): Promise<PackagedServer> {
    let server = servers.get(where);
    if (server === undefined && where === "auth") {
      server = await startServerProcess(join(app, "node_modules/.bin/modelmora"), ["serve"], {
        cwd: app,
        env: authEnv,
      });
      servers.set(where, server);
    }
    assert.ok(server, `no "${where}" server: did the serve example run?`);
    return server;
  }

  it("marks every curl example to be run", () => {
    assert.deepEqual(
      unmarkedCurlBlocks(blocks),
      [],
      "curl examples without a <!-- run: … --> marker",
    );
  });

  it("packs dist/ (JavaScript and declarations), proto/ and the bin; no sources, tests or bench", async () => {
    const listing = await run("tar", ["-tzf", tarball]);
    assert.equal(listing.code, 0, listing.stderr);
    const files = listing.stdout.toString("utf8").split("\n").filter(Boolean);
    for (const file of [
      "package/package.json",
      "package/dist/index.js",
      "package/dist/index.d.ts",
      "package/dist/bin/modelmora.js",
      "package/dist/cli.js",
      "package/dist/client/stream-images.d.ts",
      "package/proto/modelmora/inference.proto",
      "package/web/bundle/index.html",
    ]) {
      assert.ok(files.includes(file), `${file} is not in the tarball`);
    }
    const stray = files.filter((file) =>
      /^package\/(src|test|bench|scratch)\/|\.(ts|map)$/.test(file),
    );
    assert.deepEqual(
      stray.filter((file) => !file.endsWith(".d.ts")),
      [],
      "sources, tests or maps in the tarball",
    );
    const manifest = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8"));
    assert.equal(manifest.bin.modelmora, "./dist/bin/modelmora.js");
    assert.equal(manifest.private, undefined, "a private package can't be published");
    assert.equal(manifest.dependencies.tsx, undefined, "tsx is for development only");
    assert.equal(manifest.dependencies.tinybench, undefined, "tinybench is for the bench only");
  });

  for (const block of ordered) {
    const { where, expect } = block.run as NonNullable<DocBlock["run"]>;
    it(`${block.file}:${block.line} (${block.lang}, ${where})`, async (t) => {
      if (where === "serve") {
        assert.equal(block.lang, "sh");
        // PORT=0 (in env) makes the docs' `npx modelmora serve` take a free port.
        const server = await startServerProcess("bash", ["-c", block.code], { cwd: app, env });
        servers.set("open", server);
        if (expect !== undefined) assert.ok(server.output().includes(expect), server.output());
        return;
      }
      if ((block.lang === "python" || /python3/.test(block.code)) && python === undefined) {
        skipWithoutPython(t, noPython);
        return;
      }
      const code =
        where === "install" ? block.code : pointAt(block.code, (await serverFor(where)).url);
      let result: RunResult;
      switch (block.lang) {
        case "sh":
          result = await run(
            "bash",
            ["-e", "-o", "pipefail", "-c", code.replace(/^python3 /gm, `${python ?? "python3"} `)],
            { cwd: app, env },
          );
          break;
        case "ts": {
          const script = join(app, `example-${block.line}.mts`);
          await writeFile(script, code);
          result = await run(process.execPath, ["--import", import.meta.resolve("tsx"), script], {
            cwd: app,
            env,
          });
          break;
        }
        case "js": {
          const script = join(app, `example-${block.line}.mjs`);
          await writeFile(script, code);
          result = await run(process.execPath, [script], { cwd: app, env });
          break;
        }
        case "python": {
          const script = join(app, `example-${block.line}.py`);
          await writeFile(script, code);
          result = await run(python as string, [script], { cwd: app, env });
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

  it("installed what production needs, without tsx or tinybench", async () => {
    for (const name of ["@connectrpc/connect", "@napi-rs/canvas", "modelmora"]) {
      assert.ok(await stat(join(app, "node_modules", name)), `${name} is not installed`);
    }
    for (const name of ["tsx", "tinybench", "typescript"]) {
      await assert.rejects(stat(join(app, "node_modules", name)), `${name} was installed`);
    }
  });

  it("the TypeScript examples typecheck against the package's declarations", async () => {
    await writeFile(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ["node"],
          typeRoots: [join(repoRoot, "node_modules/@types")],
        },
        include: ["*.mts"],
      }),
    );
    const typescript = join(repoRoot, "node_modules/typescript/bin/tsc");
    const result = await run(process.execPath, [typescript, "-p", join(app, "tsconfig.json")], {
      cwd: app,
      env,
    });
    assert.equal(result.code, 0, `tsc:\n${result.stdout}${result.stderr}`);
  });

  it("modelmora: --version, and an unknown command exits 2 with the usage", async () => {
    const manifest = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8"));
    // The bin npx runs (npx itself takes seconds to start).
    const modelmora = join(app, "node_modules/.bin/modelmora");
    const version = await run(modelmora, ["--version"], { cwd: app, env });
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.toString("utf8").trim(), manifest.version);
    const unknown = await run(modelmora, ["serv"], { cwd: app, env });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "serv"; the command is serve/);
    assert.match(unknown.stderr, /Usage: modelmora <command>/);
  });

  it("the package's server draws with what it installed, serves the browser page, stops on SIGTERM", async () => {
    const server = await serverFor("open");
    assert.match(server.output(), /renderer (canvas|@napi-rs\/canvas)/);
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.match(String(page.headers.get("content-type")), /^text\/html/);
    await page.arrayBuffer();
    await server.stop();
    servers.delete("open");
  });
});
