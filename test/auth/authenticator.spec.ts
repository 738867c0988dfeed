/**
 * Authentication without a server: key files and the environment format,
 * API keys in either header, JWTs with an HS256 secret or a JWKS, scopes.
 * Every rejection is checked for the key or token it must not repeat.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import {
  type ApiKeyEntry,
  AuthConfigError,
  type AuthOptions,
  createAuthenticator,
  type Principal,
  parseApiKeysEnv,
  parseApiKeysJson,
  parseJwks,
} from "../../src/auth/index.js";

const ciKey = "ci-key-7f3a9c2e51d84b06";
const opsKey = "ops-key-c81e2b7d44a9f350";
const hashedKey = "hashed-key-0d6b2a19e8c7f4a3";
const secret = new TextEncoder().encode("an HS256 secret of at least 32 bytes!");

const keys: ApiKeyEntry[] = [
  { id: "ci", key: ciKey, scopes: ["inference", "models"], limits: { requestsPerSecond: 5 } },
  { id: "ops", key: opsKey, scopes: ["monitoring"] },
  { id: "hashed", keySha256: sha256Hex(hashedKey), scopes: ["inference"] },
];

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function headers(init: Record<string, string>): Headers {
  return new Headers(init);
}

/** Expects a ConnectError with the code and message, and none of the secrets in it. */
async function rejects(
  promise: Promise<unknown>,
  code: Code,
  message: RegExp,
  secrets: string[],
): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ConnectError, `expected a ConnectError, got ${String(err)}`);
    assert.equal(Code[err.code], Code[code]);
    assert.match(err.rawMessage, message);
    assertNoSecrets(err, secrets);
    return true;
  });
}

function assertNoSecrets(err: Error, secrets: string[]): void {
  const shown = [err.message, String(err.stack), String(err.cause ?? "")];
  if (err instanceof ConnectError) {
    shown.push(...[...err.metadata].map(([name, value]) => `${name}: ${value}`));
  }
  for (const text of shown) {
    for (const s of secrets) {
      assert.ok(!text.includes(s), `the error repeats a secret: ${err.message}`);
    }
  }
}

/** Expects an AuthConfigError matching message, without the secrets. */
function configError(fn: () => unknown, message: RegExp, secrets: string[] = []): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AuthConfigError, `expected an AuthConfigError, got ${String(err)}`);
    assert.equal(err.code, "auth_config");
    assert.match(err.message, message);
    assertNoSecrets(err, secrets);
    return true;
  });
}

function signHs256(claims: JWTPayload) {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256" });
}

describe("API key file", () => {
  it("reads keys, hashed keys, scopes and limits", () => {
    const text = JSON.stringify([
      { id: "ci", key: ciKey, scopes: ["inference"], limits: { requests_per_second: 5 } },
      { id: "ops.team@example", key_sha256: sha256Hex(opsKey).toUpperCase() },
    ]);
    assert.deepEqual(parseApiKeysJson(text, "keys.json"), [
      {
        id: "ci",
        key: ciKey,
        keySha256: undefined,
        scopes: ["inference"],
        limits: { requestsPerSecond: 5 },
      },
      {
        id: "ops.team@example",
        key: undefined,
        keySha256: sha256Hex(opsKey).toUpperCase(),
        scopes: ["inference", "models"],
      },
    ]);
    assert.deepEqual(parseApiKeysJson("[]", "keys.json"), []);
  });

  const bad: [string, unknown, RegExp][] = [
    ["not an array", { id: "ci", key: ciKey }, /^keys.json must hold a JSON array/],
    ["an entry not an object", [ciKey], /^keys.json entry 1 must be an object/],
    [
      "an unknown field",
      [{ id: "ci", key: ciKey, secret: ciKey }],
      /^keys.json entry 1 \('ci'\): unknown field 'secret' \(known: id, key, key_sha256, scopes, limits\)/,
    ],
    ["no id", [{ key: ciKey }], /^keys.json entry 1: field 'id' must be 1 to 128/],
    ["an id with spaces", [{ id: "c i", key: ciKey }], /^keys.json entry 1: field 'id'/],
    [
      "a key not a string",
      [{ id: "ci", key: 42 }],
      /entry 1 \('ci'\): field 'key' must be a string/,
    ],
    ["no key", [{ id: "ci" }], /entry 1 \('ci'\): give exactly one of 'key' and 'key_sha256'/],
    [
      "both key and hash",
      [{ id: "ci", key: ciKey, key_sha256: sha256Hex(ciKey) }],
      /exactly one of 'key' and 'key_sha256'/,
    ],
    [
      "a key with a space",
      [{ id: "ci", key: `${ciKey} x` }],
      /entry 1 \('ci'\): field 'key' must be visible ASCII without spaces/,
    ],
    [
      "a short hash",
      [{ id: "ci", key_sha256: "abc123" }],
      /entry 1 \('ci'\): field 'key_sha256' must be 64 hex digits/,
    ],
    [
      "an unknown scope",
      [{ id: "ci", key: ciKey, scopes: ["inference", "admin"] }],
      /entry 1 \('ci'\): field 'scopes': unknown scope 'admin' \(known: inference, models, monitoring\)/,
    ],
    [
      "scopes not an array",
      [{ id: "ci", key: ciKey, scopes: "inference" }],
      /'scopes' must be an array/,
    ],
    [
      "bad limits",
      [{ id: "ci", key: ciKey, limits: { requests_per_second: -1 } }],
      /entry 1 \('ci'\): limits.requests_per_second must be a number ≥ 0/,
    ],
    [
      "a repeated id",
      [
        { id: "ci", key: ciKey },
        { id: "ci", key: opsKey },
      ],
      /^keys.json: id 'ci' appears twice/,
    ],
    [
      "the same key twice, once hashed",
      [
        { id: "ci", key: ciKey },
        { id: "ci2", key_sha256: sha256Hex(ciKey) },
      ],
      /^keys.json: keys 'ci' and 'ci2' are the same key/,
    ],
  ];
  for (const [name, json, message] of bad) {
    it(`rejects ${name}, without repeating the key`, () => {
      configError(() => parseApiKeysJson(JSON.stringify(json), "keys.json"), message, [
        ciKey,
        opsKey,
      ]);
    });
  }

  it("rejects text that is not JSON, without quoting it", () => {
    const text = `[\n  {"id": "ci", "key": "${ciKey}" "scopes": []}\n]`;
    configError(
      () => parseApiKeysJson(text, "keys.json"),
      /^keys.json is not valid JSON \(line 2, column \d+\)$/,
      [ciKey, ciKey.slice(0, 8), ciKey.slice(-8)],
    );
  });
});

describe("MODELMORA_API_KEYS", () => {
  it("reads id:key and id:key:scope+scope entries", () => {
    assert.deepEqual(parseApiKeysEnv(` ci:${ciKey} , ops:${opsKey}:monitoring+models`), [
      { id: "ci", key: ciKey, scopes: ["inference", "models"] },
      { id: "ops", key: opsKey, scopes: ["monitoring", "models"] },
    ]);
  });

  const bad: [string, string, RegExp][] = [
    ["empty", " ", /^MODELMORA_API_KEYS is empty; give id:key entries or unset it/],
    ["an entry without a key", `ci:${ciKey},ops`, /^MODELMORA_API_KEYS entry 2 must be id:key/],
    ["a key holding ':'", `ci:${ciKey}:models:x`, /entry 1 must be id:key or id:key:scope\+scope/],
    ["an empty key", "ci:", /entry 1 \('ci'\): give exactly one|entry 1 \('ci'\): field 'key'/],
    [
      "an unknown scope",
      `ci:${ciKey}:inference+admin`,
      /entry 1 \('ci'\): scopes: unknown scope 'admin'/,
    ],
    ["a bad id", `c/i:${ciKey}`, /^MODELMORA_API_KEYS entry 1: field 'id'/],
    ["a repeated id", `ci:${ciKey},ci:${opsKey}`, /id 'ci' appears twice/],
    ["a trailing comma", `ci:${ciKey},`, /entry 2 must be id:key/],
  ];
  for (const [name, text, message] of bad) {
    it(`rejects ${name}, without repeating the key`, () => {
      configError(() => parseApiKeysEnv(text), message, [ciKey, opsKey]);
    });
  }
});

describe("JWKS file", () => {
  it("reads public keys", async () => {
    const { publicKey } = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1" };
    assert.deepEqual(parseJwks(JSON.stringify({ keys: [jwk] }), "jwks.json"), { keys: [jwk] });
  });

  it("rejects malformed, empty, private and symmetric sets", async () => {
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const privateJwk = await exportJWK(privateKey);
    configError(() => parseJwks("{keys: []}", "jwks.json"), /^jwks.json is not valid JSON/);
    configError(() => parseJwks("[]", "jwks.json"), /^jwks.json must be a JWKS/);
    configError(() => parseJwks('{"keys": []}', "jwks.json"), /^jwks.json holds no keys/);
    configError(
      () => parseJwks('{"keys": [{"kid": "a"}]}', "jwks.json"),
      /^jwks.json key 1 must be a JWK object with a 'kty' field/,
    );
    configError(
      () => parseJwks(JSON.stringify({ keys: [privateJwk] }), "jwks.json"),
      /^jwks.json key 1 is a private key/,
      [privateJwk.d as string],
    );
    configError(
      () => parseJwks('{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}', "jwks.json"),
      /^jwks.json key 1 is a symmetric key/,
      ["c2VjcmV0"],
    );
  });
});

describe("API keys", () => {
  const auth = createAuthenticator({ apiKeys: keys });

  it("accepts a key in x-api-key or as a bearer token", async () => {
    assert.equal(auth.enabled, true);
    const byHeader = await auth.authenticate(headers({ "x-api-key": ciKey }));
    assert.equal(byHeader.keyId, "ci");
    assert.equal(byHeader.via, "api-key");
    assert.deepEqual([...byHeader.scopes], ["inference", "models"]);
    assert.deepEqual(byHeader.limits, { requestsPerSecond: 5 });
    const byBearer = await auth.authenticate(headers({ authorization: `bearer  ${opsKey}` }));
    assert.equal(byBearer.keyId, "ops");
  });

  it("accepts a key configured by its SHA-256", async () => {
    const principal = await auth.authenticate(headers({ authorization: `Bearer ${hashedKey}` }));
    assert.equal(principal.keyId, "hashed");
  });

  it("rejects missing credentials", async () => {
    await rejects(auth.authenticate(headers({})), Code.Unauthenticated, /^missing credentials/, []);
    await rejects(
      auth.authenticate(headers({ "x-api-key": " " })),
      Code.Unauthenticated,
      /^missing credentials: the x-api-key header is empty/,
      [],
    );
  });

  it("rejects unknown keys and other schemes without repeating them", async () => {
    const cases: [Record<string, string>, RegExp, string][] = [
      [{ "x-api-key": `${ciKey}x` }, /^unknown API key$/, `${ciKey}x`],
      [{ authorization: "Bearer not-a-key-91c4" }, /^unknown API key$/, "not-a-key-91c4"],
      [{ "x-api-key": hashedKey.toUpperCase() }, /^unknown API key$/, hashedKey.toUpperCase()],
      [
        { authorization: `Basic ${btoa(`ci:${ciKey}`)}` },
        /^the authorization header must be 'Bearer'/,
        btoa(`ci:${ciKey}`),
      ],
      [{ authorization: `Bearer ${ciKey} ${opsKey}` }, /must be 'Bearer' followed by one/, ciKey],
      [
        { authorization: "Bearer aaa.bbb.ccc" },
        /^unknown API key \(this server accepts no JWT bearer tokens\)/,
        "aaa.bbb.ccc",
      ],
    ];
    for (const [init, message, credential] of cases) {
      await rejects(auth.authenticate(headers(init)), Code.Unauthenticated, message, [
        credential,
        ciKey,
        opsKey,
      ]);
    }
  });

  it("prefers x-api-key over authorization", async () => {
    const principal = await auth.authenticate(
      headers({ "x-api-key": opsKey, authorization: `Bearer ${ciKey}` }),
    );
    assert.equal(principal.keyId, "ops");
  });

  it("checks scopes", async () => {
    const ops = await auth.authenticate(headers({ "x-api-key": opsKey }));
    auth.authorize(ops, "monitoring");
    assert.throws(
      () => auth.authorize(ops, "inference"),
      (err: unknown) =>
        err instanceof ConnectError &&
        err.code === Code.PermissionDenied &&
        err.rawMessage === "key 'ops' lacks scope 'inference'",
    );
  });

  it("lets nobody in with an empty key list", async () => {
    const closed = createAuthenticator({ apiKeys: [] });
    assert.equal(closed.enabled, true);
    await rejects(
      closed.authenticate(headers({ "x-api-key": ciKey })),
      Code.Unauthenticated,
      /^unknown API key/,
      [ciKey],
    );
  });

  it("rejects bad entries given in code", () => {
    configError(
      () => createAuthenticator({ apiKeys: [{ id: "ci", key: "", scopes: [] }] }),
      /^API key 'ci': field 'key' must be visible ASCII/,
    );
    configError(
      () =>
        createAuthenticator({
          apiKeys: [
            { id: "a", key: ciKey, scopes: [] },
            { id: "b", key: ciKey, scopes: [] },
          ],
        }),
      /keys 'a' and 'b' are the same key/,
      [ciKey],
    );
  });
});

describe("authentication off", () => {
  it("makes every call the anonymous principal, with every scope", async () => {
    const auth = createAuthenticator({});
    assert.equal(auth.enabled, false);
    const principal: Principal = await auth.authenticate(headers({ "x-api-key": "anything" }));
    assert.equal(principal.keyId, "anonymous");
    assert.equal(principal.via, "anonymous");
    for (const scope of ["inference", "models", "monitoring"] as const) {
      auth.authorize(principal, scope);
    }
  });
});

describe("JWT with an HS256 secret", () => {
  const options: AuthOptions = {
    apiKeys: keys,
    jwt: { hs256Secret: secret, issuer: "https://issuer.example", audience: "modelmora" },
  };
  const auth = createAuthenticator(options);
  const valid = () =>
    signHs256({ scope: "inference models admin" })
      .setSubject("alice")
      .setIssuer("https://issuer.example")
      .setAudience("modelmora")
      .setExpirationTime("5m");

  it("accepts a valid token: sub, scopes, limits", async () => {
    const token = await valid().sign(secret);
    const principal = await auth.authenticate(headers({ authorization: `Bearer ${token}` }));
    assert.equal(principal.keyId, "jwt:alice");
    assert.equal(principal.via, "jwt");
    assert.deepEqual([...principal.scopes].sort(), ["inference", "models"]);
    assert.equal(principal.limits, undefined);

    const withArray = await signHs256({
      scopes: ["monitoring", "nope"],
      modelmora_limits: { requests_per_second: 2, bytes_per_day: 1000 },
    })
      .setSubject("bob")
      .setIssuer("https://issuer.example")
      .setAudience(["other", "modelmora"])
      .sign(secret);
    const bob = await auth.authenticate(headers({ authorization: `Bearer ${withArray}` }));
    assert.deepEqual([...bob.scopes], ["monitoring"]);
    assert.deepEqual(bob.limits, { requestsPerSecond: 2, bytesPerDay: 1000 });
    assert.throws(() => auth.authorize(bob, "inference"), /key 'jwt:bob' lacks scope 'inference'/);
  });

  it("still accepts API keys as bearer tokens", async () => {
    const principal = await auth.authenticate(headers({ authorization: `Bearer ${ciKey}` }));
    assert.equal(principal.keyId, "ci");
  });

  const bad: [string, () => Promise<string>, RegExp][] = [
    [
      "expired",
      () =>
        valid()
          .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
          .sign(secret),
      /^invalid token: it has expired$/,
    ],
    [
      "signed with another secret",
      () => valid().sign(new TextEncoder().encode("another secret, also 32 bytes long")),
      /^invalid token: bad signature$/,
    ],
    [
      "from another issuer",
      () => valid().setIssuer("https://evil.example").sign(secret),
      /^invalid token: wrong issuer \(expected 'https:\/\/issuer.example'\)$/,
    ],
    [
      "for another audience",
      () => valid().setAudience("someone-else").sign(secret),
      /^invalid token: wrong audience \(expected 'modelmora'\)$/,
    ],
    [
      "not valid yet",
      () => valid().setNotBefore("10m").sign(secret),
      /^invalid token: it is not valid yet/,
    ],
    [
      "without sub",
      () =>
        signHs256({ scope: "inference" })
          .setIssuer("https://issuer.example")
          .setAudience("modelmora")
          .sign(secret),
      /^invalid token: it has no 'sub' claim$/,
    ],
    [
      "in another algorithm",
      () =>
        new SignJWT({ sub: "alice" })
          .setProtectedHeader({ alg: "HS512" })
          .setIssuer("https://issuer.example")
          .setAudience("modelmora")
          .sign(new Uint8Array(64).fill(7)),
      /^invalid token: algorithm 'HS512' is not accepted$/,
    ],
    [
      "without alg",
      async () => "eyJub3QiOiJ0aGVyZSJ9.e30.c2lnbmF0dXJl",
      /^invalid token: algorithm \(none\) is not accepted$/,
    ],
    ["malformed", async () => "bm90IGpzb24.e30.c2lnbmF0dXJl", /^invalid token: malformed JWT$/],
  ];
  for (const [name, make, message] of bad) {
    it(`rejects a token ${name}, without repeating it`, async () => {
      const token = await make();
      const [head, body, signature] = token.split(".") as [string, string, string];
      await rejects(
        auth.authenticate(headers({ authorization: `Bearer ${token}` })),
        Code.Unauthenticated,
        message,
        [token, body, signature, head].filter((part) => part.length > 8),
      );
    });
  }

  it("rejects a token with bad limits, naming the field", async () => {
    const token = await signHs256({ modelmora_limits: { burst: -2 } })
      .setSubject("alice")
      .setIssuer("https://issuer.example")
      .setAudience("modelmora")
      .sign(secret);
    await rejects(
      auth.authenticate(headers({ authorization: `Bearer ${token}` })),
      Code.Unauthenticated,
      /^invalid token: claim modelmora_limits.burst must be a number ≥ 0/,
      [token],
    );
  });

  it("rejects bad settings", () => {
    configError(() => createAuthenticator({ jwt: {} }), /need an HS256 secret, a JWKS, or both/);
    configError(
      () => createAuthenticator({ jwt: { hs256Secret: new TextEncoder().encode("short") } }),
      /the HS256 secret is 5 bytes; it must be at least 32/,
      ["short"],
    );
  });
});

describe("JWT with a JWKS", () => {
  for (const alg of ["ES256", "RS256", "EdDSA"] as const) {
    it(`accepts ${alg} tokens signed by a key in the set, and no others`, async () => {
      const signer = await generateKeyPair(alg);
      const stranger = await generateKeyPair(alg);
      const publicJwk = { ...(await exportJWK(signer.publicKey)), kid: "k1", alg };
      const jwks = parseJwks(JSON.stringify({ keys: [publicJwk] }), "jwks.json");
      const auth = createAuthenticator({ jwt: { jwks, issuer: "idp" } });
      const sign = (key: typeof signer.privateKey, kid = "k1") =>
        new SignJWT({ scope: "inference" })
          .setProtectedHeader({ alg, kid })
          .setSubject("svc")
          .setIssuer("idp")
          .setExpirationTime("1m")
          .sign(key);

      const token = await sign(signer.privateKey);
      const principal = await auth.authenticate(headers({ authorization: `Bearer ${token}` }));
      assert.equal(principal.keyId, "jwt:svc");
      auth.authorize(principal, "inference");

      const forged = await sign(stranger.privateKey);
      await rejects(
        auth.authenticate(headers({ authorization: `Bearer ${forged}` })),
        Code.Unauthenticated,
        /^invalid token: bad signature$/,
        [forged],
      );
      const unknownKid = await sign(signer.privateKey, "k2");
      await rejects(
        auth.authenticate(headers({ authorization: `Bearer ${unknownKid}` })),
        Code.Unauthenticated,
        /^invalid token: no key in the JWKS matches/,
        [unknownKid],
      );
    });
  }

  it("refuses HS256 tokens when only a JWKS is set, so a public key can't act as a secret", async () => {
    const { publicKey } = await generateKeyPair("RS256");
    const jwk = await exportJWK(publicKey);
    const auth = createAuthenticator({ jwt: { jwks: { keys: [jwk] } } });
    const token = await signHs256({ sub: "mallory" }).sign(
      new TextEncoder().encode(JSON.stringify(jwk)),
    );
    await rejects(
      auth.authenticate(headers({ authorization: `Bearer ${token}` })),
      Code.Unauthenticated,
      /^invalid token: algorithm 'HS256' is not accepted$/,
      [token],
    );
  });
});
