/**
 * Verification: what a client received is checked against what the server
 * declared (sizes and SHA-256 of every image) before it counts. The door of
 * bench/verify/ for the rest of the bench.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
export { errorMessage, VerificationError } from "./errors.js";
export {
  type HashingMode,
  ImageAssembler,
  type Verifiable,
  type VerifiedImage,
} from "./image-assembler.js";
export { MultipartImageParser } from "./multipart-parser.js";
