/**
 * The server's authentication, run as the CLI: API keys (a file and
 * MODELMORA_API_KEYS) and JWT bearer tokens (an HS256 secret file and a
 * JWKS file), the same over every protocol: missing or invalid credentials give UNAUTHENTICATED (REST 401),
 * a key without the scope PERMISSION_DENIED (403); health and metrics are
 * public or not as configured; no key or token ever reaches the log or an
 * error message.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import {
  assertCode,
  assertRefused,
  type CliServer,
  callHealthCheck,
  callListModels,
  callStream,
  httpRequest,
  makeTempDir,
  type Outcome,
  protocolCases,
  smallRequest,
  startCli,
  startServer,
  type TempDir,
  type TestServer,
} from "../support/index.js";

/** A credential shaped like a real one, unique to this run. */
function secret(prefix: string): string {
  return `${prefix}_${randomBytes(18).toString("base64url")}`;
}

const envKey = secret("mm_env");
const envModelsKey = secret("mm_models");
const envMonitoringKey = secret("mm_mon");
const fileHashedKey = secret("mm_hashed");
const filePlainKey = secret("mm_plain");
const wrongKey = secret("mm_wrong");
const hs256Secret = randomBytes(48).toString("base64url");

/** Every secret of this file: none may show up in a log line or an error message. */
const secrets: string[] = [
  envKey,
  envModelsKey,
  envMonitoringKey,
  fileHashedKey,
  filePlainKey,
  wrongKey,
  hs256Secret,
];

interface CredentialCase {
  name: string;
  headers(): Record<string, string>;
  /** For StreamInference. */
  expected: Code | undefined;
  message?: RegExp;
  /** The key id the log line names, for accepted calls. */
  keyId?: string;
}

describe("authentication over every protocol (CLI: key file, MODELMORA_API_KEYS, HS256, JWKS)", () => {
  let dir: TempDir;
  let cli: CliServer;
  const tokens: Record<string, string> = {};
  const errorMessages: string[] = [];

  function remember(outcome: Outcome): Outcome {
    errorMessages.push(outcome.message);
    return outcome;
  }

  before(async () => {
    dir = await makeTempDir();
    const keysFile = join(dir.path, "keys.json");
    await writeFile(
      keysFile,
      JSON.stringify([
        {
          id: "file-hashed",
          key_sha256: createHash("sha256").update(fileHashedKey).digest("hex"),
          scopes: ["inference", "models"],
        },
        { id: "file-plain", key: filePlainKey, scopes: ["inference"] },
      ]),
    );
    const secretFile = join(dir.path, "jwt-secret");
    // Written as `echo` would, with a newline the server must not count.
    await writeFile(secretFile, `${hs256Secret}\n`);

    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const other = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "test-key", alg: "ES256", use: "sig" };
    const jwksFile = join(dir.path, "jwks.json");
    await writeFile(jwksFile, JSON.stringify({ keys: [jwk] }));

    const hsKey = new TextEncoder().encode(hs256Secret);
    const now = Math.floor(Date.now() / 1000);
    const hs256 = (claims: Record<string, unknown>, key = hsKey) =>
      new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setSubject("alice").sign(key);
    const es256 = (claims: Record<string, unknown>, key = privateKey) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "ES256", kid: "test-key" })
        .setSubject("bob")
        .setExpirationTime("10m")
        .sign(key);
    tokens.hs256 = await hs256({ scope: "inference models", exp: now + 600 });
    tokens.hs256Models = await hs256({ scope: "models", exp: now + 600 });
    tokens.hs256Expired = await hs256({ scope: "inference models", exp: now - 600 });
    tokens.hs256WrongSecret = await hs256(
      { scope: "inference models", exp: now + 600 },
      new TextEncoder().encode(secret("not_the_server_secret_at_all_0123456789")),
    );
    tokens.es256 = await es256({ scopes: ["inference", "models"] });
    tokens.es256OtherKey = await es256({ scopes: ["inference", "models"] }, other.privateKey);
    secrets.push(...Object.values(tokens));

    cli = await startCli(
      [
        "--api-keys-file",
        keysFile,
        "--jwt-secret-file",
        secretFile,
        "--jwks-file",
        jwksFile,
        "--public-health",
        "false",
        "--public-metrics",
        "false",
        "--log-level",
        "info",
      ],
      {
        env: {
          MODELMORA_API_KEYS: `env-ci:${envKey},env-models:${envModelsKey}:models,env-mon:${envMonitoringKey}:monitoring`,
        },
      },
    );
  });
  after(async () => {
    await cli?.stop();
    await dir?.remove();
  });

  const bearer = (token: () => string) => () => ({ authorization: `Bearer ${token()}` });
  const credentialCases: CredentialCase[] = [
    {
      name: "no credentials",
      headers: () => ({}),
      expected: Code.Unauthenticated,
      message: /missing credentials/,
    },
    {
      name: "an unknown x-api-key",
      headers: () => ({ "x-api-key": wrongKey }),
      expected: Code.Unauthenticated,
      message: /unknown API key/,
    },
    {
      name: "an unknown key as a bearer token",
      headers: bearer(() => wrongKey),
      expected: Code.Unauthenticated,
      message: /unknown API key/,
    },
    {
      name: "an expired HS256 JWT",
      headers: bearer(() => tokens.hs256Expired as string),
      expected: Code.Unauthenticated,
      message: /invalid token: it has expired/,
    },
    {
      name: "an HS256 JWT signed with another secret",
      headers: bearer(() => tokens.hs256WrongSecret as string),
      expected: Code.Unauthenticated,
      message: /invalid token: bad signature/,
    },
    {
      name: "an ES256 JWT signed by a key not in the JWKS",
      headers: bearer(() => tokens.es256OtherKey as string),
      expected: Code.Unauthenticated,
      message: /invalid token: bad signature/,
    },
    {
      name: "a key with scope models only",
      headers: () => ({ "x-api-key": envModelsKey }),
      expected: Code.PermissionDenied,
      message: /key 'env-models' lacks scope 'inference'/,
    },
    {
      name: "a JWT with scope models only",
      headers: bearer(() => tokens.hs256Models as string),
      expected: Code.PermissionDenied,
      message: /key 'jwt:alice' lacks scope 'inference'/,
    },
    {
      name: "a key from MODELMORA_API_KEYS",
      headers: () => ({ "x-api-key": envKey }),
      expected: undefined,
      keyId: "env-ci",
    },
    {
      name: "a key of the file given by its SHA-256, as a bearer token",
      headers: bearer(() => fileHashedKey),
      expected: undefined,
      keyId: "file-hashed",
    },
    {
      name: "an HS256 JWT",
      headers: bearer(() => tokens.hs256 as string),
      expected: undefined,
      keyId: "jwt:alice",
    },
    {
      name: "an ES256 JWT checked with the JWKS",
      headers: bearer(() => tokens.es256 as string),
      expected: undefined,
      keyId: "jwt:bob",
    },
  ];

  for (const protocolCase of protocolCases) {
    describe(protocolCase.name, () => {
      for (const credentials of credentialCases) {
        const verdict =
          credentials.expected === undefined ? "works" : `is ${Code[credentials.expected]}`;
        it(`StreamInference with ${credentials.name} ${verdict}`, async () => {
          const outcome = remember(
            await callStream(cli, protocolCase, smallRequest, { headers: credentials.headers() }),
          );
          if (credentials.expected === undefined) {
            assertCode(outcome, undefined);
            assert.ok(outcome.bytes > 0, "no image bytes arrived");
          } else {
            assertRefused(outcome, protocolCase, credentials.expected, credentials.message);
          }
        });
      }

      it("ListModels: scope models is enough, inference alone is not, none is unauthenticated", async () => {
        assertCode(
          remember(
            await callListModels(cli, protocolCase, { headers: { "x-api-key": envModelsKey } }),
          ),
          undefined,
        );
        assertRefused(
          remember(
            await callListModels(cli, protocolCase, { headers: { "x-api-key": filePlainKey } }),
          ),
          protocolCase,
          Code.PermissionDenied,
          /key 'file-plain' lacks scope 'models'/,
        );
        assertRefused(
          remember(await callListModels(cli, protocolCase)),
          protocolCase,
          Code.Unauthenticated,
        );
      });

      it("health with --public-health false needs scope monitoring", async () => {
        const what = protocolCase.protocol === "rest" ? "GET /healthz" : "Health/Check";
        assertRefused(
          remember(await callHealthCheck(cli, protocolCase)),
          protocolCase,
          Code.Unauthenticated,
        );
        assertRefused(
          remember(await callHealthCheck(cli, protocolCase, { headers: { "x-api-key": envKey } })),
          protocolCase,
          Code.PermissionDenied,
          /lacks scope 'monitoring'/,
        );
        const allowed = await callHealthCheck(cli, protocolCase, {
          headers: { "x-api-key": envMonitoringKey },
        });
        assertCode(allowed, undefined, what);
        assert.equal(allowed.status, "SERVING");
      });
    });
  }

  it("GET /metrics with --public-metrics false needs scope monitoring", async () => {
    const none = await httpRequest(cli, { method: "GET", path: "/metrics" });
    assert.equal(none.status, 401);
    const inference = await httpRequest(cli, {
      method: "GET",
      path: "/metrics",
      headers: { "x-api-key": envKey },
    });
    assert.equal(inference.status, 403);
    errorMessages.push(none.body.toString("utf8"), inference.body.toString("utf8"));
    const monitoring = await httpRequest(cli, {
      method: "GET",
      path: "/metrics",
      headers: { authorization: `Bearer ${envMonitoringKey}` },
    });
    assert.equal(monitoring.status, 200);
    assert.match(monitoring.body.toString("utf8"), /^# HELP modelmora_/m);
  });

  it("logs the key id of each call, and never a key, token or secret", async () => {
    // Stopped first: once it has exited, every line it will write is there.
    assert.deepEqual(await cli.stop(), { code: 0, signal: null });
    const log = cli.stderr();
    for (const value of secrets) {
      assert.ok(!log.includes(value), "a credential appears in the server log");
    }
    const calls = cli.logLines().filter((line) => line.msg === "call");
    const keyIds = new Set(calls.map((line) => line.key_id));
    for (const keyId of [
      "env-ci",
      "file-hashed",
      "jwt:alice",
      "jwt:bob",
      "env-models",
      "env-mon",
    ]) {
      assert.ok(keyIds.has(keyId), `no call line with key_id ${keyId}`);
    }
    const unauthenticated = calls.filter((line) => line.code === "unauthenticated");
    assert.ok(unauthenticated.length >= protocolCases.length * 6, "refused calls are logged");
    for (const line of unauthenticated) {
      assert.equal(line.level, "warn");
    }
  });

  it("never puts a key, token or secret in an error message", () => {
    assert.ok(errorMessages.some((message) => message !== ""));
    for (const message of errorMessages) {
      for (const value of secrets) {
        assert.ok(!message.includes(value), `an error message holds a credential: ${message}`);
      }
    }
  });
});

describe("health and metrics are public by default, with auth on", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({
      auth: { apiKeys: [{ id: "only", key: envKey, scopes: ["inference"] }] },
    });
  });
  after(async () => {
    await srv.close();
  });

  for (const protocolCase of protocolCases) {
    it(`${protocolCase.name}: health needs no credentials, inference still does`, async () => {
      const health = await callHealthCheck(srv, protocolCase);
      assertCode(health, undefined);
      assert.equal(health.status, "SERVING");
      assertRefused(
        await callStream(srv, protocolCase, smallRequest),
        protocolCase,
        Code.Unauthenticated,
      );
    });
  }

  it("GET /metrics needs no credentials", async () => {
    const response = await httpRequest(srv, { method: "GET", path: "/metrics" });
    assert.equal(response.status, 200);
  });
});
