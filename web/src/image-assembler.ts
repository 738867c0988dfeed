/** One image as it arrived: its bytes and what the server declared about it. */
export interface ReceivedImage {
  /** Its index in the batch, from 0. */
  readonly index: number;
  /** The PNG file. */
  readonly bytes: Uint8Array;
  /** The SHA-256 the server declared, lowercase hex. */
  readonly declaredSha256: string;
  readonly widthPx: number;
  readonly heightPx: number;
  /** performance.now() when its last byte arrived. */
  readonly wholeMs: number;
}

/** What the server says about the image a piece of data belongs to. */
export interface ImagePiece {
  readonly index: number;
  /** The image's size in bytes. */
  readonly imageBytes: number;
  /** Where this piece goes in the image, in bytes. */
  readonly offset: number;
  readonly sha256: string;
  readonly widthPx: number;
  readonly heightPx: number;
}

/**
 * Rebuilds images from the pieces a stream brings (RPC chunks, or the parts
 * of a REST body as they arrive), checking that each piece lands where the
 * previous one ended and no image grows past its declared size. Calls
 * onImage once per image, when its last byte is in.
 */
export interface ImageAssembler {
  add(piece: ImagePiece, data: Uint8Array): void;
  /** Images whole so far, in the order they completed. */
  readonly images: readonly ReceivedImage[];
  /** Image bytes received so far, whole images or not. */
  readonly receivedBytes: number;
  /** Throws unless every image that started is whole. */
  finish(): void;
}

/** Creates an ImageAssembler. */
export function createImageAssembler(
  onImage: (image: ReceivedImage) => void = () => {},
): ImageAssembler {
  const partial = new Map<number, { piece: ImagePiece; bytes: Uint8Array; filled: number }>();
  const images: ReceivedImage[] = [];
  let receivedBytes = 0;
  return {
    images,
    get receivedBytes() {
      return receivedBytes;
    },
    add(piece, data) {
      let image = partial.get(piece.index);
      if (image === undefined) {
        if (images.some((done) => done.index === piece.index)) {
          throw new Error(`image ${piece.index} arrived twice`);
        }
        if (!Number.isSafeInteger(piece.imageBytes) || piece.imageBytes < 0) {
          throw new Error(`image ${piece.index} has no valid size (got ${piece.imageBytes})`);
        }
        image = { piece, bytes: new Uint8Array(piece.imageBytes), filled: 0 };
        partial.set(piece.index, image);
      }
      if (piece.offset !== image.filled) {
        throw new Error(
          `image ${piece.index}: a chunk at offset ${piece.offset}, expected ${image.filled}`,
        );
      }
      if (image.filled + data.byteLength > image.bytes.byteLength) {
        throw new Error(
          `image ${piece.index}: ${image.filled + data.byteLength} bytes, more than the declared ${image.bytes.byteLength}`,
        );
      }
      image.bytes.set(data, image.filled);
      image.filled += data.byteLength;
      receivedBytes += data.byteLength;
      if (image.filled === image.bytes.byteLength) {
        partial.delete(piece.index);
        const whole: ReceivedImage = {
          index: piece.index,
          bytes: image.bytes,
          declaredSha256: piece.sha256.toLowerCase(),
          widthPx: piece.widthPx,
          heightPx: piece.heightPx,
          wholeMs: performance.now(),
        };
        images.push(whole);
        onImage(whole);
      }
    },
    finish() {
      for (const [index, image] of partial) {
        throw new Error(
          `image ${index} ended at ${image.filled} of its ${image.bytes.byteLength} bytes`,
        );
      }
    },
  };
}
