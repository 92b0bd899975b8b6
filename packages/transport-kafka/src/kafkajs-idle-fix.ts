import { createRequire } from 'node:module';

interface RequestQueueShape {
  prototype: {
    scheduleCheckPendingRequests: (this: { pending: unknown[] }) => void;
    [PATCHED]?: true;
  };
}

const PATCHED = Symbol.for('herald.kafkajs.idle-loop-fix');

/**
 * Stops kafkajs 2.2.4's idle busy loop (upstream issues #1704 and #1751, still
 * open; kafkajs is unmaintained): after every response each connection's
 * request queue re-arms a timer with a negative delay, so it wakes every
 * millisecond with nothing to send. That costs about 4 % of a core per
 * transport at rest, and on Node 24 prints `TimeoutNegativeWarning`.
 *
 * The fix skips re-arming only while no request is waiting; a request that
 * has to wait (throttling, in-flight limit) re-arms the timer as before when
 * it is queued. Applied once per process to the kafkajs copy this package
 * uses; returns false if that copy does not look like kafkajs 2.2.x.
 */
export function fixKafkajsIdleLoop(): boolean {
  let RequestQueue: RequestQueueShape;
  try {
    RequestQueue = createRequire(import.meta.url)(
      'kafkajs/src/network/requestQueue/index.js',
    ) as RequestQueueShape;
  } catch {
    return false;
  }
  const proto = RequestQueue?.prototype;
  if (!proto || typeof proto.scheduleCheckPendingRequests !== 'function') return false;
  if (proto[PATCHED]) return true;
  const original = proto.scheduleCheckPendingRequests;
  proto.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: { pending: unknown[] }) {
    if (Array.isArray(this.pending) && this.pending.length === 0) return;
    original.call(this);
  };
  proto[PATCHED] = true;
  return true;
}
