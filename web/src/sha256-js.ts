/** SHA-256's round constants: the first 32 bits of the fractional parts of the cube roots of the first 64 primes (FIPS 180-4 §4.2.2). */
const roundConstants = new Uint32Array(64);
/** SHA-256's initial hash: the same for the square roots of the first 8 primes (§5.3.3). */
const initialHash = new Uint32Array(8);

{
  const primes: number[] = [];
  for (let n = 2; primes.length < 64; n++) {
    if (primes.every((p) => n % p !== 0)) primes.push(n);
  }
  const fraction = (x: number) => ((x - Math.floor(x)) * 2 ** 32) >>> 0;
  primes.forEach((p, i) => {
    roundConstants[i] = fraction(Math.cbrt(p));
    if (i < 8) initialHash[i] = fraction(Math.sqrt(p));
  });
}

/**
 * SHA-256 in plain TypeScript (FIPS 180-4), lowercase hex. The page uses it
 * only where Web Crypto is missing: `crypto.subtle` exists in secure
 * contexts alone (https, or http on localhost), so a phone opening the page
 * at http://192.168.x.y:8080/ needs this one.
 */
export function sha256HexJs(data: Uint8Array): string {
  const hash = initialHash.slice();
  const words = new Uint32Array(64);
  const bitLength = data.byteLength * 8;
  // The message, a 1 bit, zeros, and the 64-bit length: a multiple of 64 bytes.
  const paddedBytes = Math.ceil((data.byteLength + 9) / 64) * 64;
  const tail = new Uint8Array(paddedBytes - Math.floor(data.byteLength / 64) * 64);
  const tailStart = data.byteLength - (data.byteLength % 64);
  tail.set(data.subarray(tailStart));
  tail[data.byteLength - tailStart] = 0x80;
  const tailView = new DataView(tail.buffer);
  tailView.setUint32(tail.byteLength - 8, Math.floor(bitLength / 2 ** 32));
  tailView.setUint32(tail.byteLength - 4, bitLength >>> 0);
  const body = new DataView(data.buffer, data.byteOffset, tailStart);

  const compress = (view: DataView, offset: number) => {
    for (let t = 0; t < 16; t++) words[t] = view.getUint32(offset + t * 4);
    for (let t = 16; t < 64; t++) {
      const w15 = words[t - 15];
      const w2 = words[t - 2];
      const s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >>> 3);
      const s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >>> 10);
      words[t] = words[t - 16] + s0 + words[t - 7] + s1;
    }
    let a = hash[0];
    let b = hash[1];
    let c = hash[2];
    let d = hash[3];
    let e = hash[4];
    let f = hash[5];
    let g = hash[6];
    let h = hash[7];
    for (let t = 0; t < 64; t++) {
      const s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
      const choose = (e & f) ^ (~e & g);
      const t1 = (h + s1 + choose + roundConstants[t] + words[t]) >>> 0;
      const s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
      const majority = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (s0 + majority) >>> 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    hash[0] += a;
    hash[1] += b;
    hash[2] += c;
    hash[3] += d;
    hash[4] += e;
    hash[5] += f;
    hash[6] += g;
    hash[7] += h;
  };

  for (let offset = 0; offset < tailStart; offset += 64) compress(body, offset);
  for (let offset = 0; offset < tail.byteLength; offset += 64) compress(tailView, offset);
  return Array.from(hash, (word) => word.toString(16).padStart(8, "0")).join("");
}

function rotr(x: number, n: number): number {
  return (x >>> n) | (x << (32 - n));
}
