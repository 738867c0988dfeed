/**
 * One image of a StreamInference call, whole and checked: its bytes were
 * written in place from each chunk's `chunk_offset`, and their SHA-256 is
 * the `image_sha256` the server declared.
 */
export interface StreamedImage {
  /** Position of the image in the batch, from 0 (metadata `image_index`). */
  readonly index: number;
  /** The whole file (a PNG for every model of this server). */
  readonly bytes: Buffer;
  /** Hex SHA-256 of `bytes`, checked against the server's `image_sha256`. */
  readonly sha256: string;
  /** Width in pixels (metadata `width`). */
  readonly width: number;
  /** Height in pixels (metadata `height`). */
  readonly height: number;
  /** Media type (metadata `content_type`), "image/png". */
  readonly contentType: string;
}
