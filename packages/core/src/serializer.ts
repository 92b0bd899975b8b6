import { MalformedMessageError, PayloadTooLargeError } from './errors.js';

/** Turns payloads into bytes and back. JSON by default. */
export interface Serializer {
  /** MIME type written to the `content-type` header. */
  readonly contentType: string;
  /** Encodes a payload. Throws {@link PayloadTooLargeError} past the size limit. */
  serialize(payload: unknown): Uint8Array;
  /** Decodes bytes. Throws {@link MalformedMessageError} or {@link PayloadTooLargeError}. */
  deserialize(body: Uint8Array): unknown;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Default size limit for one payload: 1 MiB (Service Bus standard tier allows 256 KiB; set lower there). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/** JSON serializer with a size limit and strict UTF-8. `Date`s become ISO strings. */
export class JsonSerializer implements Serializer {
  readonly contentType = 'application/json';
  readonly #maxBytes: number;

  constructor(options: { maxPayloadBytes?: number } = {}) {
    this.#maxBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  }

  serialize(payload: unknown): Uint8Array {
    let text: string | undefined;
    try {
      text = JSON.stringify(payload);
    } catch (error) {
      throw new MalformedMessageError(`Payload cannot be serialized to JSON: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (text === undefined)
      throw new MalformedMessageError('Payload serialized to nothing (undefined or a function)');
    const bytes = encoder.encode(text);
    if (bytes.byteLength > this.#maxBytes) throw new PayloadTooLargeError(bytes.byteLength, this.#maxBytes);
    return bytes;
  }

  deserialize(body: Uint8Array): unknown {
    if (body.byteLength > this.#maxBytes) throw new PayloadTooLargeError(body.byteLength, this.#maxBytes);
    let text: string;
    try {
      text = decoder.decode(body);
    } catch (error) {
      throw new MalformedMessageError('Body is not valid UTF-8', { cause: error });
    }
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new MalformedMessageError(`Body is not valid JSON: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
}
