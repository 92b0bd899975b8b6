/**
 * Latency recording with exact percentiles: every sample is kept (8 bytes
 * each, so a million samples are 8 MB) and sorted once when read. Simpler than
 * an HDR histogram and exact, which matters for p99 of a few thousand samples.
 */
export class LatencyRecorder {
  #values = new Float64Array(1024);
  #count = 0;
  #sorted = true;

  /** Records one latency in milliseconds (negative values are clamped to 0: clocks are monotonic, rounding is not). */
  record(ms: number): void {
    if (!Number.isFinite(ms)) throw new RangeError(`latency must be finite, got ${ms}`);
    if (this.#count === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#count++] = Math.max(0, ms);
    this.#sorted = false;
  }

  /** Adds every sample of another recorder. */
  merge(other: LatencyRecorder): void {
    for (const value of other.values()) this.record(value);
  }

  get count(): number {
    return this.#count;
  }

  values(): Float64Array {
    return this.#values.subarray(0, this.#count);
  }

  /** Nearest-rank percentile (p in 0..100); NaN without samples. */
  percentile(p: number): number {
    if (this.#count === 0) return Number.NaN;
    if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
    this.#sort();
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    return this.#values[rank - 1]!;
  }

  get max(): number {
    return this.percentile(100);
  }

  get mean(): number {
    if (this.#count === 0) return Number.NaN;
    let sum = 0;
    for (const value of this.values()) sum += value;
    return sum / this.#count;
  }

  /** p50/p99/max rounded to 0.01 ms, the shape the results file uses. */
  summary(): { count: number; p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number } {
    return {
      count: this.#count,
      p50Ms: round2(this.percentile(50)),
      p90Ms: round2(this.percentile(90)),
      p99Ms: round2(this.percentile(99)),
      maxMs: round2(this.max),
    };
  }

  #sort(): void {
    if (this.#sorted) return;
    this.values().sort();
    this.#sorted = true;
  }
}

export function round2(value: number): number {
  return Number.isFinite(value) ? Math.round(value * 100) / 100 : value;
}

/** Milliseconds on CLOCK_MONOTONIC: comparable between processes on the same machine (Linux). */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
