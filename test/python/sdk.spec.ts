/**
 * The Python SDK (clients/python) as a user gets it: a fresh virtual
 * environment, `pip install` of the package with no package index, then its
 * pytest suite, which starts real servers from this repository and runs
 * every example of clients/python/README.md against them.
 *
 * The venv is made as clients/python/README.md says for a machine without
 * PyPI (`/usr/bin/python3 -m venv --system-site-packages`, `pip install
 * --no-build-isolation`), from a copy of clients/python so the build leaves
 * nothing in the repository. pip reads no configuration and no index here
 * (PIP_CONFIG_FILE=/dev/null, PIP_NO_INDEX=1): what installs, installs
 * offline from Debian's packages.
 *
 * Needs Debian's python3-grpcio, python3-protobuf, python3-httpx,
 * python3-pytest, python3-pytest-asyncio, python3-venv, python3-setuptools
 * and python3-wheel. Without them it skips with one line, unless
 * MODELMORA_REQUIRE_PYTHON=1 (CI), where it fails.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { repoRoot, run } from "../support/index.js";

const python = process.env.MODELMORA_PYTHON ?? "/usr/bin/python3";
const pythonRequired = process.env.MODELMORA_REQUIRE_PYTHON === "1";
const modules = [
  "grpc",
  "google.protobuf",
  "httpx",
  "pytest",
  "pytest_asyncio",
  "ensurepip",
  "setuptools",
  "wheel",
];

/** Why the suite cannot run here, or undefined when everything is present. */
function missingPython(): string | undefined {
  const probe = spawnSync(python, ["-c", `import ${modules.join(", ")}`], { encoding: "utf8" });
  if (probe.status === 0) return undefined;
  const why = probe.error?.message ?? probe.stderr.trim().split("\n").pop();
  return `${python} cannot import ${modules.join(", ")} (apt-get install python3-grpcio python3-protobuf python3-httpx python3-pytest python3-pytest-asyncio python3-venv python3-setuptools python3-wheel): ${why}`;
}
const missing = missingPython();

/** pip with no configuration file, no index and no environment settings of its own. */
function pipEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("PIP_") && name !== "PYTHONPATH") env[name] = value;
  }
  return {
    ...env,
    PIP_CONFIG_FILE: "/dev/null",
    PIP_NO_INDEX: "1",
    PIP_DISABLE_PIP_VERSION_CHECK: "1",
  };
}

describe("the Python SDK, pip-installed in a fresh venv", {
  skip: !pythonRequired && missing,
}, () => {
  let dir: string;
  let venvPython: string;

  before(async () => {
    if (missing) {
      assert.fail(`MODELMORA_REQUIRE_PYTHON=1 but ${missing}`);
    }
    dir = await mkdtemp(join(tmpdir(), "modelmora-sdk-"));
    const venv = join(dir, "venv");
    const made = await run(python, ["-m", "venv", "--system-site-packages", venv]);
    assert.equal(made.code, 0, `venv: ${made.stderr}`);
    venvPython = join(venv, "bin", "python");
    const source = join(dir, "clients-python");
    await cp(join(repoRoot, "clients/python"), source, {
      recursive: true,
      filter: (path) => !/(^|\/)(build|__pycache__|\.pytest_cache|[^/]*\.egg-info)$/.test(path),
    });
    const installed = await run(
      join(venv, "bin", "pip"),
      ["install", "--no-build-isolation", source],
      { env: pipEnv(), cwd: dir },
    );
    assert.equal(installed.code, 0, `pip install: ${installed.stderr}${installed.stdout}`);
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("installs the package itself, typed, with its generated modules", async () => {
    const result = await run(
      venvPython,
      [
        "-c",
        "import modelmora, modelmora.inference_pb2_grpc, pathlib; p = pathlib.Path(modelmora.__file__).parent; print(p); print(sorted(f.name for f in p.iterdir() if f.suffix in ('.typed', '.pyi')))",
      ],
      { cwd: dir },
    );
    assert.equal(result.code, 0, result.stderr);
    const [folder, typed] = result.stdout.toString("utf8").trim().split("\n");
    assert.ok(folder?.startsWith(join(dir, "venv")), `modelmora imported from ${folder}`);
    assert.equal(typed, "['inference_pb2.pyi', 'py.typed']");
  });

  it("passes its pytest suite against real servers", async () => {
    const result = await run(
      venvPython,
      ["-m", "pytest", "-q", "-p", "no:cacheprovider", "clients/python/tests"],
      { env: { ...pipEnv(), MODELMORA_REPO: repoRoot } },
    );
    const output = result.stdout.toString("utf8");
    assert.equal(result.code, 0, `pytest failed:\n${output}\n${result.stderr}`);
    const summary = output.trim().split("\n").pop() ?? "";
    assert.match(summary, /^\d+ passed in /, `pytest: ${summary}`);
  });
});
