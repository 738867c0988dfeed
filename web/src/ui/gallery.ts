import type { ReceivedImage } from "../image-assembler.js";
import { checkImage, type ImageCheck } from "../image-check.js";
import { h } from "./dom.js";
import { formatExactBytes, formatMs } from "./format.js";

/** What the page verified about an image it shows. */
export interface ShownImage extends ImageCheck {
  /** The browser decoded the PNG at the size the server declared. */
  readonly decoded: boolean;
}

/** The images of a run, as cards: picture, size, arrival time, checksum. */
export interface Gallery {
  /** Removes every card and frees its image. */
  clear(): void;
  /** Adds a card for an image that has arrived, then checks and decodes it. */
  add(image: ReceivedImage, startedMs: number): Promise<ShownImage>;
}

/**
 * A gallery in an <ol>: each card a thumbnail that links to the PNG as it
 * arrived. Each card's data attributes say what was verified
 * (data-sha256 "pending", "ok" or "mismatch"; data-decoded "true" or
 * "false"), for people and for the browser tests alike.
 */
export function createGallery(list: HTMLOListElement): Gallery {
  const urls: string[] = [];
  return {
    clear() {
      for (const url of urls.splice(0)) URL.revokeObjectURL(url);
      list.replaceChildren();
    },
    async add(image, startedMs) {
      const blob = new Blob([image.bytes as Uint8Array<ArrayBuffer>], { type: "image/png" });
      const url = URL.createObjectURL(blob);
      urls.push(url);
      const thumbnail = h("canvas", {
        attrs: {
          role: "img",
          "aria-label": `image ${image.index}, ${image.widthPx}×${image.heightPx}`,
        },
      });
      const check = h("span", { className: "check", text: "SHA-256 …" });
      const card = h(
        "li",
        {
          className: "card",
          attrs: {
            "data-index": String(image.index),
            "data-sha256": "pending",
            "data-decoded": "pending",
          },
        },
        h(
          "a",
          {
            className: "frame",
            attrs: { href: url, target: "_blank", download: `image-${image.index}.png` },
          },
          thumbnail,
        ),
        h(
          "p",
          { className: "caption" },
          h("strong", { text: `#${image.index}` }),
          ` ${image.widthPx}×${image.heightPx} · ${formatExactBytes(image.bytes.byteLength)}`,
          h("br"),
          `whole at ${formatMs(image.wholeMs - startedMs)} · `,
          check,
        ),
      );
      insertInOrder(list, card, image.index);
      const [checked, decoded] = await Promise.all([
        checkImage(image),
        drawThumbnail(blob, thumbnail, image.widthPx, image.heightPx),
      ]);
      card.dataset.sha256 = checked.sha256Ok ? "ok" : "mismatch";
      card.dataset.decoded = String(decoded);
      check.textContent = checked.sha256Ok ? "SHA-256 ✓" : "SHA-256 ✗ mismatch";
      check.title = `${checked.sha256} (${checked.via === "web-crypto" ? "Web Crypto" : "JavaScript"})`;
      check.classList.add(checked.sha256Ok ? "ok" : "bad");
      if (!decoded) {
        card.classList.add("undecoded");
      }
      return { ...checked, decoded };
    },
  };
}

/** Longest side of a thumbnail, in canvas pixels (twice the card's CSS size, for sharp screens). */
const thumbnailPx = 360;

/**
 * Decodes the PNG off the main thread (createImageBitmap) and draws it
 * scaled into the card's canvas. Resolves whether it decoded at the size
 * the server declared. A small canvas rather than an <img> of the whole
 * picture: 32 decoded 10 MB images would hold 400 MB of pixels and keep
 * the page's compositor busy, on a phone above all.
 */
async function drawThumbnail(
  blob: Blob,
  canvas: HTMLCanvasElement,
  widthPx: number,
  heightPx: number,
): Promise<boolean> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch {
    return false;
  }
  try {
    const scale = Math.min(1, thumbnailPx / Math.max(bitmap.width, bitmap.height));
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext("2d")?.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    return bitmap.width === widthPx && bitmap.height === heightPx;
  } finally {
    bitmap.close();
  }
}

function insertInOrder(list: HTMLOListElement, card: HTMLLIElement, index: number): void {
  const after = Array.from(list.children).find(
    (child) => Number((child as HTMLElement).dataset.index) > index,
  );
  list.insertBefore(card, after ?? null);
}
