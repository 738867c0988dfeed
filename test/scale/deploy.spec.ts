/**
 * The Dockerfile and deploy/kubernetes/ manifests, checked without a
 * container runtime (none runs in CI): each file is parsed, and what it
 * says is checked against the real thing. Settings against the CLI's
 * --help; probe paths and the gRPC probe against a server started with the
 * Deployment's own environment; the HEALTHCHECK command by running it; the
 * command against where `npm run build` puts the CLI; the image's runtime
 * packages against the libraries node-canvas links here (readelf, dpkg on
 * Debian 12, the base of the node:20-bookworm images). What can't be
 * checked here (that the image builds and runs, that a cluster accepts the
 * manifests) deploy/README.md says.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { createClient } from "@connectrpc/connect";
import { parseAllDocuments } from "yaml";
import { createInferenceClient } from "../../src/client/index.js";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../src/gen/grpc/health/v1/health_pb.js";
import { type CliServer, rawRequest, repoRoot, run, runCli, startCli } from "../support/index.js";

/** The flags and environment variables the CLI documents in --help. */
async function cliSettings(): Promise<{ flags: Set<string>; envs: Set<string> }> {
  const help = await runCli(["--help"]);
  assert.equal(help.code, 0);
  const text = help.stdout.toString("utf8");
  const flags = new Set([...text.matchAll(/^ {2}(--[a-z0-9-]+)/gm)].map((m) => m[1] as string));
  const envs = new Set(
    [...text.matchAll(/\(([A-Z][A-Z0-9_]+)(?:, [^)]*)?\)$/gm)].map((m) => m[1] as string),
  );
  assert.ok(flags.size >= 20 && envs.size === flags.size, "parsed the --help table");
  return { flags, envs };
}

// --- Dockerfile ---------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
}

/** The instructions of a Dockerfile: comments dropped, continuation lines joined. */
function dockerInstructions(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (pending === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.startsWith("#")) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const whole = `${pending}${line}`.trim();
    pending = "";
    if (whole === "") continue;
    const keyword = whole.split(/\s+/)[0] ?? "";
    instructions.push({ keyword: keyword.toUpperCase(), args: whole.slice(keyword.length).trim() });
  }
  return instructions;
}

/** The instructions of each stage, by FROM. */
function dockerStages(instructions: readonly Instruction[]): Instruction[][] {
  const stages: Instruction[][] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === "FROM") stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

/** The packages `apt-get install` names in a stage's RUN instructions. */
function aptPackages(stage: readonly Instruction[]): Set<string> {
  const packages = new Set<string>();
  for (const { keyword, args } of stage) {
    if (keyword !== "RUN") continue;
    for (const match of args.matchAll(/apt-get install ([^&;]+)/g)) {
      for (const word of (match[1] as string).split(/\s+/)) {
        if (word !== "" && !word.startsWith("-")) packages.add(word);
      }
    }
  }
  return packages;
}

/** ENV key=value pairs of a stage. */
function dockerEnv(stage: readonly Instruction[]): Map<string, string> {
  const env = new Map<string, string>();
  for (const { keyword, args } of stage) {
    if (keyword !== "ENV") continue;
    for (const match of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g)) {
      env.set(match[1] as string, (match[2] as string).replace(/^"|"$/g, ""));
    }
  }
  return env;
}

/** The exec-form (JSON array) command of an instruction's arguments. */
function execForm(args: string): string[] {
  const start = args.indexOf("[");
  assert.ok(start >= 0, `not in exec form: ${args}`);
  return JSON.parse(args.slice(start)) as string[];
}

// --- Kubernetes -----------------------------------------------------------

// biome-ignore lint/suspicious/noExplicitAny: manifests are free-form YAML, checked field by field.
type Manifest = any;

async function kubernetesManifests(): Promise<Manifest[]> {
  const dir = join(repoRoot, "deploy/kubernetes");
  const manifests: Manifest[] = [];
  for (const file of (await readdir(dir)).filter((name) => name.endsWith(".yaml")).sort()) {
    for (const document of parseAllDocuments(await readFile(join(dir, file), "utf8"))) {
      assert.deepEqual(document.errors, [], `${file} parses`);
      manifests.push({ ...document.toJS(), file });
    }
  }
  return manifests;
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

describe("the Dockerfile", () => {
  let stages: Instruction[][];
  let settings: Awaited<ReturnType<typeof cliSettings>>;
  before(async () => {
    stages = dockerStages(dockerInstructions(await readFile(join(repoRoot, "Dockerfile"), "utf8")));
    settings = await cliSettings();
  });

  it("builds in one stage and runs on a slim Node image in another", () => {
    assert.ok(stages.length >= 2, "multi-stage");
    const from = (stage: Instruction[]) => stage[0]?.args ?? "";
    assert.match(from(stages[0] as Instruction[]), /^node:\S+ AS build$/);
    const runtime = stages.at(-1) as Instruction[];
    assert.match(from(runtime), /^node:\$\{NODE_VERSION\}-bookworm-slim\b/);
    assert.ok(
      runtime.some((i) => i.keyword === "COPY" && /--from=build .*dist\/src/.test(i.args)),
      "copies the compiled dist/src from the build stage",
    );
  });

  it("installs the Cairo development packages CI builds node-canvas with, and only runtime libraries to run", async () => {
    const ci = await readFile(join(repoRoot, ".ci/run"), "utf8");
    const list = /packages=\(([\s\S]*?)\)/.exec(ci)?.[1] ?? "";
    const ciDev = list.split(/\s+/).filter((name) => /^lib.*-dev$/.test(name));
    assert.ok(ciDev.length >= 4, "read the -dev packages of .ci/run");
    const build = aptPackages(stages[0] as Instruction[]);
    for (const name of ciDev) {
      assert.ok(build.has(name), `the build stage installs ${name}, as CI does`);
    }
    const runtime = aptPackages(stages.at(-1) as Instruction[]);
    for (const name of runtime) {
      assert.doesNotMatch(
        name,
        /-dev$|^build-essential$|^pkg-config$/,
        "no build tools at run time",
      );
    }
  });

  it("installs every library node-canvas links against in the runtime stage", async (t) => {
    const binary = join(repoRoot, "node_modules/canvas/build/Release/canvas.node");
    if (!existsSync(binary)) {
      assert.notEqual(process.env.MODELMORA_REQUIRE_NODE_CANVAS, "1", "node-canvas is built");
      t.skip("node-canvas is not built here");
      return;
    }
    const dpkg = await run("dpkg-query", ["-W", "-f", `\${Package}\n`]);
    if (dpkg.code !== 0) {
      t.skip("no dpkg here (not Debian)");
      return;
    }
    const elf = await run("readelf", ["-d", binary]);
    assert.equal(elf.code, 0, elf.stderr);
    const needed = [...elf.stdout.toString().matchAll(/\(NEEDED\).*\[(.+)\]/g)]
      .map((m) => m[1] as string)
      // Bundled next to it (a prebuilt binary), or libc and the C++ runtime,
      // which every image has.
      .filter((lib) => !existsSync(join(dirname(binary), lib)))
      .filter((lib) => !/^(libc|libm|libstdc\+\+|libgcc_s|libpthread|libdl)\.so/.test(lib));
    assert.ok(needed.length > 0, "node-canvas links system libraries here");
    // The packages the runtime stage installs, with everything they depend on.
    const closure = new Set<string>();
    const queue = [...aptPackages(stages.at(-1) as Instruction[])];
    while (queue.length > 0) {
      const name = queue.pop() as string;
      if (closure.has(name)) continue;
      closure.add(name);
      const depends = await run("dpkg-query", ["-W", "-f", `\${Depends},\${Pre-Depends}`, name]);
      assert.equal(depends.code, 0, `${name} is a Debian 12 package installed here`);
      for (const alternative of depends.stdout.toString().split(/[,|]/)) {
        const dependency = alternative.trim().split(/[\s:(]/)[0];
        if (dependency) queue.push(dependency);
      }
    }
    for (const lib of needed) {
      const owner = await run("dpkg-query", ["-S", `*/${lib}`]);
      assert.equal(owner.code, 0, `a package ships ${lib}`);
      const packages = owner.stdout
        .toString()
        .split("\n")
        .filter((line) => line.includes(":"))
        .map((line) => (line.split(":")[0] as string).trim());
      assert.ok(
        packages.some((name) => closure.has(name)),
        `${lib} (from ${packages.join(", ")}) is installed by the runtime stage`,
      );
    }
  });

  it("sets only settings the CLI has, and exposes the port it listens on", () => {
    const runtime = stages.at(-1) as Instruction[];
    const env = dockerEnv(runtime);
    for (const name of env.keys()) {
      if (name === "NODE_ENV") continue;
      assert.ok(settings.envs.has(name), `${name} is a setting of the CLI`);
    }
    const expose = runtime.find((i) => i.keyword === "EXPOSE")?.args;
    assert.equal(expose, env.get("PORT"), "EXPOSE matches PORT");
    assert.equal(env.get("HOST"), "0.0.0.0", "listens on every interface in the container");
  });

  it("runs the compiled CLI with node, as a user that is not root, stopped by SIGTERM", async () => {
    const runtime = stages.at(-1) as Instruction[];
    const command = execForm(runtime.find((i) => i.keyword === "CMD")?.args ?? "");
    const tsconfig = JSON.parse(await readFile(join(repoRoot, "tsconfig.json"), "utf8")) as {
      compilerOptions: { outDir: string; rootDir: string };
    };
    const { outDir, rootDir } = tsconfig.compilerOptions;
    const compiled = join(outDir, relative(rootDir, "src/cli.ts")).replace(/\.ts$/, ".js");
    assert.deepEqual(command, ["node", compiled], "where `npm run build` puts src/cli.ts");
    const pkg = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    assert.ok(pkg.scripts.build, "package.json has a build script");
    const user = runtime.filter((i) => i.keyword === "USER").at(-1)?.args;
    assert.ok(user !== undefined && user !== "root" && user !== "0", `runs as ${user}`);
    assert.equal(runtime.find((i) => i.keyword === "STOPSIGNAL")?.args, "SIGTERM");
  });

  describe("its HEALTHCHECK, run against a real server", () => {
    let server: CliServer;
    before(async () => {
      server = await startCli([]);
    });
    after(async () => {
      await server?.stop();
    });

    it("exits 0 while the server serves, 1 when nothing answers", async () => {
      const runtime = stages.at(-1) as Instruction[];
      const healthcheck = runtime.find((i) => i.keyword === "HEALTHCHECK")?.args ?? "";
      assert.match(healthcheck, /--interval=\d+s --timeout=\d+s/);
      const command = execForm(healthcheck.slice(healthcheck.indexOf("CMD")));
      assert.equal(command[0], "node");
      const port = new URL(server.url).port;
      const env = { ...process.env, PORT: port };
      const healthy = await run(process.execPath, command.slice(1), { env });
      assert.equal(healthy.code, 0, healthy.stderr);
      await server.stop();
      const gone = await run(process.execPath, command.slice(1), { env });
      assert.equal(gone.code, 1);
    });
  });
});

describe("the Kubernetes manifests", () => {
  let manifests: Manifest[];
  let settings: Awaited<ReturnType<typeof cliSettings>>;
  let deployment: Manifest;
  let container: Manifest;
  let dockerUser: string | undefined;
  before(async () => {
    manifests = await kubernetesManifests();
    settings = await cliSettings();
    deployment = manifests.find((m) => m.kind === "Deployment");
    assert.ok(deployment, "a Deployment");
    container = deployment.spec.template.spec.containers[0];
    const docker = dockerInstructions(await readFile(join(repoRoot, "Dockerfile"), "utf8"));
    dockerUser = docker.filter((i) => i.keyword === "USER").at(-1)?.args;
  });

  const envValue = (name: string) =>
    (container.env as Manifest[]).find((variable) => variable.name === name)?.value as
      | string
      | undefined;
  const portOf = (ref: string | number) =>
    typeof ref === "number"
      ? ref
      : (container.ports as Manifest[]).find((port) => port.name === ref)?.containerPort;

  it("has a Deployment, a Service, a headless Service and a PodDisruptionBudget", () => {
    const kinds = manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort();
    assert.deepEqual(kinds, [
      "Deployment/modelmora",
      "PodDisruptionBudget/modelmora",
      "Service/modelmora",
      "Service/modelmora-pods",
    ]);
  });

  it("sets only settings the CLI has, with flags it has", () => {
    for (const variable of container.env as Manifest[]) {
      assert.ok(settings.envs.has(variable.name), `${variable.name} is a setting of the CLI`);
    }
    for (const arg of [...(container.args ?? []), ...(container.command ?? [])]) {
      if (String(arg).startsWith("--")) {
        assert.ok(settings.flags.has(String(arg).split("=")[0] as string), `${arg} is a flag`);
      }
    }
  });

  it("listens on the port it declares, which the Services target", () => {
    const port = portOf("http");
    assert.equal(String(port), envValue("PORT"));
    assert.equal(envValue("HOST"), "0.0.0.0");
    const labels = deployment.spec.template.metadata.labels;
    assert.ok(
      matches(deployment.spec.selector.matchLabels, labels),
      "the Deployment selects its pods",
    );
    for (const service of manifests.filter((m) => m.kind === "Service")) {
      assert.ok(
        matches(service.spec.selector, labels),
        `${service.metadata.name} selects the pods`,
      );
      for (const servicePort of service.spec.ports) {
        assert.equal(portOf(servicePort.targetPort), port, `${service.metadata.name} targets it`);
      }
    }
    const headless = manifests.find((m) => m.kind === "Service" && m.spec.clusterIP === "None");
    assert.ok(headless, "a headless Service lists every pod");
    const budget = manifests.find((m) => m.kind === "PodDisruptionBudget");
    assert.ok(matches(budget.spec.selector.matchLabels, labels), "the budget selects the pods");
    assert.ok(budget.spec.minAvailable < deployment.spec.replicas, "a drain can proceed");
  });

  it("drains within its termination grace period", () => {
    const preStop = container.lifecycle.preStop.exec.command as string[];
    assert.equal(preStop[0], "sleep");
    const sleepSeconds = Number(preStop[1]);
    const graceSeconds = Number(envValue("MODELMORA_GRACE_MS")) / 1000;
    assert.ok(sleepSeconds > 0 && graceSeconds > 0);
    const period = deployment.spec.template.spec.terminationGracePeriodSeconds;
    assert.ok(
      period > sleepSeconds + graceSeconds,
      `terminationGracePeriodSeconds ${period} > preStop ${sleepSeconds} s + grace ${graceSeconds} s`,
    );
    const liveness = container.livenessProbe;
    assert.ok(
      liveness.periodSeconds * liveness.failureThreshold >= graceSeconds,
      "liveness does not kill a pod that drains",
    );
  });

  it("asks for resources and runs as the image's user, not root", () => {
    assert.ok(container.resources.requests.cpu, "cpu request");
    assert.ok(container.resources.requests.memory, "memory request");
    assert.ok(container.resources.limits.memory, "memory limit");
    const security = deployment.spec.template.spec.securityContext;
    assert.equal(security.runAsNonRoot, true);
    // The node images' `node` user is uid 1000.
    assert.equal(dockerUser, "node");
    assert.equal(security.runAsUser, 1000);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
  });

  describe("its probes, against a server started with the Deployment's environment", () => {
    let server: CliServer;
    before(async () => {
      const env: Record<string, string> = {};
      for (const variable of container.env as Manifest[]) {
        if (variable.value !== undefined) env[variable.name] = String(variable.value);
      }
      // A free port on this machine, not the pod's 8080.
      env.PORT = "0";
      env.HOST = "127.0.0.1";
      server = await startCli([], { env });
    });
    after(async () => {
      await server?.stop();
    });

    for (const probeName of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      it(`${probeName} succeeds`, async () => {
        const probe = container[probeName];
        assert.ok(probe, `${probeName} is set`);
        assert.ok(probe.periodSeconds > 0 && probe.failureThreshold > 0);
        if (probe.httpGet !== undefined) {
          assert.equal(portOf(probe.httpGet.port), portOf("http"), "probes the server's port");
          const response = await rawRequest(server, { method: "GET", path: probe.httpGet.path });
          assert.equal(response.status, 200, `GET ${probe.httpGet.path}`);
        } else {
          assert.ok(probe.grpc, `${probeName} is httpGet or grpc`);
          assert.equal(probe.grpc.port, portOf("http"), "probes the server's port");
          // What the kubelet does: grpc.health.v1.Health/Check over h2c.
          const inference = createInferenceClient({ baseUrl: server.url, protocol: "grpc" });
          try {
            const response = await createClient(Health, inference.transport).check({
              service: probe.grpc.service ?? "",
            });
            assert.equal(response.status, ServingStatus.SERVING);
          } finally {
            inference.close();
          }
        }
      });
    }
  });
});
