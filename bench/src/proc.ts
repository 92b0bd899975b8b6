import { type ChildProcess, fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A message between the runner and a worker process: `type` plus any JSON fields. */
export type Message = { type: string; [key: string]: any };

/** The worker's entry: the TypeScript source unless the runner compiled the workers (`useWorkerEntry`). */
let workerEntry = join(dirname(fileURLToPath(import.meta.url)), 'worker.ts');

/** Starts later workers from `entry` (the compiled `worker.js`). */
export function useWorkerEntry(entry: string): void {
  workerEntry = entry;
}

/**
 * Buffered, typed message queue over an IPC pipe: `next(type)` returns the first
 * message of that type received so far or the next one to arrive, bounded in time.
 */
export class Channel {
  readonly #buffer: Message[] = [];
  readonly #waiters: Array<{ type: string; resolve: (m: Message) => void; reject: (e: Error) => void }> = [];
  readonly #listeners = new Map<string, Set<(m: Message) => void>>();
  #closed: Error | undefined;
  readonly #name: string;

  constructor(name: string) {
    this.#name = name;
  }

  deliver(message: Message): void {
    for (const listener of this.#listeners.get(message.type) ?? []) listener(message);
    if (this.#listeners.has(message.type)) return;
    const index = this.#waiters.findIndex((w) => w.type === message.type);
    if (index >= 0) this.#waiters.splice(index, 1)[0]!.resolve(message);
    else this.#buffer.push(message);
  }

  /** Every message of `type` goes to `listener` instead of the queue. */
  on(type: string, listener: (m: Message) => void): void {
    let set = this.#listeners.get(type);
    if (!set) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    set.add(listener);
    for (let i = this.#buffer.length - 1; i >= 0; i--) {
      if (this.#buffer[i]!.type === type) listener(this.#buffer.splice(i, 1)[0]!);
    }
  }

  next(type: string, timeoutMs: number): Promise<Message> {
    const index = this.#buffer.findIndex((m) => m.type === type);
    if (index >= 0) return Promise.resolve(this.#buffer.splice(index, 1)[0]!);
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error(`${this.#name}: no "${type}" message within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        type,
        resolve: (m: Message) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  close(error: Error): void {
    this.#closed ??= error;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }
}

/** How one worker process is started, beyond the role and its config. */
export interface WorkerOptions {
  /** Node flags of this worker (after BENCH_WORKER_ARGS). */
  nodeArgs?: readonly string[];
  /** Environment variables added for this worker. */
  env?: Readonly<Record<string, string>>;
}

/** A child process running one role of a workload (src/roles/<role>.ts). */
export class Worker {
  readonly name: string;
  readonly channel: Channel;
  readonly #child: ChildProcess;
  readonly exited: Promise<number | null>;
  #errorText = '';

  constructor(
    name: string,
    role: string,
    config: object,
    options: WorkerOptions & { cpuProf?: string } = {},
  ) {
    this.name = name;
    this.channel = new Channel(name);
    const execArgv = ['--disable-warning=ExperimentalWarning'];
    // Node flags for the workers of one experiment (GC and heap settings, profilers).
    if (process.env.BENCH_WORKER_ARGS)
      execArgv.push(...process.env.BENCH_WORKER_ARGS.split(/\s+/).filter(Boolean));
    if (options.nodeArgs) execArgv.push(...options.nodeArgs);
    if (options.cpuProf)
      execArgv.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProf}`, `--cpu-prof-name=${name}.cpuprofile`);
    this.#child = fork(workerEntry, [role, JSON.stringify(config)], {
      execArgv,
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      env: options.env ? { ...process.env, ...options.env } : process.env,
    });
    this.#child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      this.#errorText = (this.#errorText + text).slice(-4000);
      if (process.env.BENCH_VERBOSE) process.stderr.write(`[${name}] ${text}`);
    });
    this.#child.on('error', (error) => {
      this.#errorText = `${this.#errorText}\n${error.message}`.slice(-4000);
    });
    this.#child.on('message', (message: Message) => {
      if (message.type === 'error') {
        this.channel.close(new Error(`${name} failed: ${message.message}`));
        return;
      }
      this.channel.deliver(message);
    });
    this.exited = new Promise((resolve) => {
      this.#child.on('exit', (code, signal) => {
        const detail = this.#errorText.trim()
          ? `\n${this.#errorText.trim().split('\n').slice(-15).join('\n')}`
          : '';
        this.channel.close(new Error(`${name} exited (code ${code}, signal ${signal})${detail}`));
        resolve(code);
      });
    });
  }

  get pid(): number {
    return this.#child.pid!;
  }

  send(message: Message): void {
    // A worker that is exiting closes its channel under us (EPIPE): its exit is reported by
    // `exited` with its stderr, so the failed send itself is dropped rather than crashing the run.
    if (this.#child.connected) this.#child.send(message, () => undefined);
  }

  next(type: string, timeoutMs = 60_000): Promise<Message> {
    return this.channel.next(type, timeoutMs);
  }

  /** Asks the worker to stop, then kills it if it has not exited within `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.send({ type: 'stop' });
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }
}

/** Workers a workload started; `stopAll` always runs in the workload's `finally`. */
export class WorkerGroup {
  readonly workers: Worker[] = [];
  readonly #cpuProf: string | undefined;

  constructor(cpuProf?: string) {
    this.#cpuProf = cpuProf;
  }

  spawn(name: string, role: string, config: object, options: WorkerOptions = {}): Worker {
    const worker = new Worker(name, role, config, {
      ...options,
      ...(this.#cpuProf ? { cpuProf: this.#cpuProf } : {}),
    });
    this.workers.push(worker);
    return worker;
  }

  async stopAll(): Promise<void> {
    await Promise.allSettled(this.workers.map((w) => w.stop()));
  }
}
