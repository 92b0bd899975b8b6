import { randomFillSync } from 'node:crypto';

let lastMillis = 0;
let sequence = 0;
const random = new Uint8Array(10);

/**
 * A UUID version 7 (RFC 9562): 48-bit Unix milliseconds, then randomness.
 * Ids created in one process are strictly increasing, even within the same
 * millisecond (a 12-bit counter in `rand_a`, method 1 of the RFC), so ids sort
 * in creation order.
 */
export function uuidv7(now: number = Date.now()): string {
  if (now > lastMillis) {
    lastMillis = now;
    sequence = 0;
  } else {
    sequence += 1;
    if (sequence > 0xfff) {
      // Counter exhausted inside one millisecond: borrow the next millisecond.
      lastMillis += 1;
      sequence = 0;
    }
  }
  randomFillSync(random);
  const ms = lastMillis;
  const bytes = new Uint8Array(16);
  bytes[0] = Math.floor(ms / 2 ** 40) & 0xff;
  bytes[1] = Math.floor(ms / 2 ** 32) & 0xff;
  bytes[2] = (ms >>> 24) & 0xff;
  bytes[3] = (ms >>> 16) & 0xff;
  bytes[4] = (ms >>> 8) & 0xff;
  bytes[5] = ms & 0xff;
  bytes[6] = 0x70 | ((sequence >>> 8) & 0x0f);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | (random[0]! & 0x3f);
  for (let i = 9; i < 16; i++) bytes[i] = random[i - 8]!;
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `value` is a canonical UUID string (any version). */
export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}
