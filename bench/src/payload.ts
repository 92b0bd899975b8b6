/** Events of the benchmarks: about 1 KB of JSON payload each. */
export const PAYLOAD_BYTES = 1024;

/** The payload every workload sends: a sequence number, the intended send time, padding to 1 KB. */
export interface BenchPayload {
  seq: number;
  /** CLOCK_MONOTONIC ms at which the open-loop schedule meant to send this event (latency starts here). */
  t: number;
  pad: string;
}

const SKELETON = JSON.stringify({ seq: 1_000_000_000, t: 1_000_000_000.123456, pad: '' }).length;
const PAD = 'x'.repeat(PAYLOAD_BYTES - SKELETON);

export function benchPayload(seq: number, t = 0): BenchPayload {
  return { seq, t, pad: PAD };
}

/** A raw 1 KB body for the raw-engine workloads (same size as Herald's serialized payload). */
export function rawBody(seq: number, t = 0): Buffer {
  return Buffer.from(JSON.stringify(benchPayload(seq, t)));
}

/** Herald event class of the benchmarks; the name is per run so runs never share queues or topics. */
export function benchEventClass(name: string) {
  return class BenchEvent {
    static readonly eventName = name;
    readonly seq: number;
    readonly t: number;
    readonly pad: string;
    constructor(seq: number, t: number, pad: string) {
      this.seq = seq;
      this.t = t;
      this.pad = pad;
    }
  };
}

export type BenchEventType = ReturnType<typeof benchEventClass>;

export function benchEvent(type: BenchEventType, seq: number, t = 0) {
  return new type(seq, t, PAD);
}
