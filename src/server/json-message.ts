import { type DescMessage, fromJsonString, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

// fatal: invalid UTF-8 is an error, not U+FFFD. ignoreBOM: a byte order
// mark stays in the text, so it can be refused below instead of skipped.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Parses a JSON request message with the one policy every JSON protocol
 * shares (REST and Connect JSON): the bytes must be UTF-8 without a byte
 * order mark (RFC 8259 §8.1), one JSON object, no key twice, no unknown
 * field, every field of its type. Protobuf field names and their JSON names
 * (batch_size, batchSize) are both accepted. Throws ConnectError
 * INVALID_ARGUMENT saying what is wrong.
 */
export function messageFromJsonBytes<Desc extends DescMessage>(
  schema: Desc,
  bytes: Uint8Array,
): MessageShape<Desc> {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    throw invalid("JSON request body starts with a byte order mark; send UTF-8 without one");
  }
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw invalid("JSON request body is not valid UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalid(`request body is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalid(`request body must be a JSON object, a ${schema.name}`);
  }
  try {
    // fromJsonString, not fromJson of the parsed value: it also refuses a
    // key given twice, which JSON.parse would have let the last one win.
    return fromJsonString(schema, text, { ignoreUnknownFields: false });
  } catch (err) {
    throw invalid(`request body is not a valid ${schema.name}: ${(err as Error).message}`);
  }
}

function invalid(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}
