/**
 * Just enough HPACK (RFC 7541) for raw-frame tests.
 *
 * Writing: every field as a "literal header field without indexing, new
 * name", strings as they are (no Huffman), so a block is easy to cut into
 * pieces and its size is plain arithmetic.
 *
 * Reading: the connection tells the server its dynamic table holds 0 bytes
 * (SETTINGS_HEADER_TABLE_SIZE 0), so every field the server sends is a
 * static-table index or a literal. Literal strings the server Huffman-codes
 * are decoded when they are made of digits only (a status, a length, a
 * retry-after, a grpc-status); other Huffman strings read as undefined.
 * That is all the tests need to read: `:status` and a few numbers.
 */

/** RFC 7541 Appendix A: the static table, index 1 to 61. */
const staticTable: readonly (readonly [string, string])[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

/** An integer with an N-bit prefix (RFC 7541 §5.1); `first` holds the bits above the prefix. */
function encodeInteger(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    return [first | value];
  }
  const bytes = [first | max];
  let rest = value - max;
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return bytes;
}

function encodeString(text: string): Buffer {
  const bytes = Buffer.from(text, "latin1");
  return Buffer.concat([Buffer.from(encodeInteger(bytes.length, 7, 0)), bytes]);
}

/**
 * A header block of the given fields, in order (pseudo-headers first, as
 * RFC 9113 §8.3 requires; the caller decides, so a test can break the
 * rule). Names are sent as given: lowercase them unless the point is not to.
 */
export function encodeHeaderBlock(
  fields: readonly (readonly [string, string])[] | Record<string, string>,
): Buffer {
  const list = Array.isArray(fields) ? fields : Object.entries(fields);
  const parts: Buffer[] = [];
  for (const [name, value] of list) {
    // 0000 0000: literal without indexing, new name (RFC 7541 §6.2.2).
    parts.push(Buffer.from([0x00]), encodeString(name), encodeString(value));
  }
  return Buffer.concat(parts);
}

/** The size RFC 9113 §6.5.2 counts for SETTINGS_MAX_HEADER_LIST_SIZE: name + value + 32 per field. */
export function headerListSize(fields: Record<string, string>): number {
  return Object.entries(fields).reduce(
    (sum, [name, value]) => sum + name.length + value.length + 32,
    0,
  );
}

/** Huffman codes of the ten digits (RFC 7541 Appendix B), as [bits, length]. */
const digitCodes: readonly (readonly [number, number])[] = [
  [0x0, 5],
  [0x1, 5],
  [0x2, 5],
  [0x19, 6],
  [0x1a, 6],
  [0x1b, 6],
  [0x1c, 6],
  [0x1d, 6],
  [0x1e, 6],
  [0x1f, 6],
];

/** Decodes a Huffman string of digits; undefined when it holds anything else. */
function decodeHuffmanDigits(bytes: Buffer): string | undefined {
  let text = "";
  let bits = 0;
  let length = 0;
  for (const byte of bytes) {
    bits = (bits << 8) | byte;
    length += 8;
    for (;;) {
      let matched = false;
      for (const [digit, [code, codeLength]] of digitCodes.entries()) {
        if (length >= codeLength && bits >>> (length - codeLength) === code) {
          text += String(digit);
          length -= codeLength;
          bits &= (1 << length) - 1;
          matched = true;
          break;
        }
      }
      if (!matched) break;
    }
    // No digit code is longer than 6 bits: more unmatched bits than that is
    // another symbol.
    if (length > 7) return undefined;
  }
  // What is left must be padding: the most significant bits of EOS, all ones.
  return bits === (1 << length) - 1 ? text : undefined;
}

function decodeInteger(block: Buffer, offset: number, prefixBits: number): [number, number] {
  const max = (1 << prefixBits) - 1;
  let value = (block[offset] as number) & max;
  let position = offset + 1;
  if (value < max) return [value, position];
  let shift = 0;
  for (;;) {
    const byte = block[position++];
    if (byte === undefined) throw new Error("HPACK: truncated integer");
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) return [value, position];
  }
}

function decodeString(block: Buffer, offset: number): [string | undefined, number] {
  const huffman = ((block[offset] as number) & 0x80) !== 0;
  const [length, start] = decodeInteger(block, offset, 7);
  const bytes = block.subarray(start, start + length);
  if (bytes.length < length) throw new Error("HPACK: truncated string");
  return [huffman ? decodeHuffmanDigits(bytes) : bytes.toString("latin1"), start + length];
}

/**
 * The fields of a header block from a server told to keep no dynamic
 * table. A name or value that cannot be read (Huffman-coded, not digits)
 * is undefined.
 */
export function decodeHeaderBlock(block: Buffer): [string | undefined, string | undefined][] {
  const fields: [string | undefined, string | undefined][] = [];
  let offset = 0;
  while (offset < block.length) {
    const byte = block[offset] as number;
    if (byte & 0x80) {
      // Indexed header field.
      const [index, next] = decodeInteger(block, offset, 7);
      const entry = staticTable[index - 1];
      if (entry === undefined) throw new Error(`HPACK: index ${index} is not in the static table`);
      fields.push([entry[0], entry[1]]);
      offset = next;
      continue;
    }
    if ((byte & 0xe0) === 0x20) {
      // Dynamic table size update: nothing to keep.
      offset = decodeInteger(block, offset, 5)[1];
      continue;
    }
    // Literal: with incremental indexing (6-bit prefix), without indexing or
    // never indexed (4-bit prefix). With a 0-byte table nothing is kept.
    const prefixBits = (byte & 0xc0) === 0x40 ? 6 : 4;
    const [nameIndex, afterIndex] = decodeInteger(block, offset, prefixBits);
    let name: string | undefined;
    let position = afterIndex;
    if (nameIndex === 0) {
      [name, position] = decodeString(block, position);
    } else {
      const entry = staticTable[nameIndex - 1];
      if (entry === undefined)
        throw new Error(`HPACK: name index ${nameIndex} is not in the static table`);
      name = entry[0];
    }
    const [value, end] = decodeString(block, position);
    fields.push([name, value]);
    offset = end;
  }
  return fields;
}

/** The `:status` of a response header block, as a number; undefined when absent. */
export function statusOf(block: Buffer): number | undefined {
  const field = decodeHeaderBlock(block).find(([name]) => name === ":status");
  return field?.[1] === undefined ? undefined : Number(field[1]);
}
