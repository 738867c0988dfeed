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
 * A gallery in an <ol>. Each card's data attributes say what was verified
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
      const url = URL.createObjectURL(
        new Blob([image.bytes as Uint8Array<ArrayBuffer>], { type: "image/png" }),
      );
      urls.push(url);
      const picture = h("img", {
        attrs: {
          alt: `image ${image.index}, ${image.widthPx}×${image.heightPx}`,
          width: String(image.widthPx),
          height: String(image.heightPx),
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
        h("div", { className: "frame" }, picture),
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
      picture.src = url;
      const [checked, decoded] = await Promise.all([
        checkImage(image),
        picture.decode().then(
          () => picture.naturalWidth === image.widthPx && picture.naturalHeight === image.heightPx,
          () => false,
        ),
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

function insertInOrder(list: HTMLOListElement, card: HTMLLIElement, index: number): void {
  const after = Array.from(list.children).find(
    (child) => Number((child as HTMLElement).dataset.index) > index,
  );
  list.insertBefore(card, after ?? null);
}
