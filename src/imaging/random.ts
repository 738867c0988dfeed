import { createHash } from "node:crypto";

/**
 * A small, fast, seeded pseudo-random generator (xoshiro128**). Images must
 * be the same bytes for the same request on every run and every machine, so
 * nothing here may depend on Math.random or the clock.
 */
export interface Random {
  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number;
  /** A uniformly distributed number in [0, 1). */
  next(): number;
  /** A number in [min, max). */
  range(min: number, max: number): number;
  /** Fills the array with random bytes. */
  fill(bytes: Uint32Array): void;
}

/** Creates a generator seeded from the SHA-256 of the given parts. */
export function createRandom(...seedParts: (string | number)[]): Random {
  const digest = createHash("sha256").update(seedParts.join("\u0000")).digest();
  let a = digest.readUInt32LE(0) | 1;
  let b = digest.readUInt32LE(4);
  let c = digest.readUInt32LE(8);
  let d = digest.readUInt32LE(12);
  function nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  }
  return {
    nextUint32,
    next: () => nextUint32() / 4294967296,
    range: (min, max) => min + (nextUint32() / 4294967296) * (max - min),
    fill(words) {
      for (let i = 0; i < words.length; i++) {
        words[i] = nextUint32();
      }
    },
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
