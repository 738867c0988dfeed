import type { ReceivedImage } from "./image-assembler.js";
import { sha256Hex } from "./sha256.js";

/** What the page verified about an image. */
export interface ImageCheck {
  readonly index: number;
  /** The SHA-256 of the bytes that arrived equals the server's. */
  readonly sha256Ok: boolean;
  readonly sha256: string;
  /** What hashed it: Web Crypto, or JavaScript outside a secure context. */
  readonly via: "web-crypto" | "javascript";
}

/** Hashes an image and compares it with the server's SHA-256. */
export async function checkImage(image: ReceivedImage): Promise<ImageCheck> {
  const { hex, via } = await sha256Hex(image.bytes);
  return { index: image.index, sha256Ok: hex === image.declaredSha256, sha256: hex, via };
}
