import { sha256HexJs } from "./sha256-js.js";

/** A digest and what computed it. */
export interface Sha256Result {
  /** Lowercase hex. */
  readonly hex: string;
  /** "web-crypto" (crypto.subtle), or "javascript" where the page is not a secure context. */
  readonly via: "web-crypto" | "javascript";
}

/** The SHA-256 of data, with Web Crypto when the page has it. */
export async function sha256Hex(data: Uint8Array): Promise<Sha256Result> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined) {
    return { hex: sha256HexJs(data), via: "javascript" };
  }
  const digest = await subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  const hex = Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0"));
  return { hex: hex.join(""), via: "web-crypto" };
}
