import { type ChildProcess, fork } from 'node:child_process';
import {
  addCounts,
  type FromService,
  type MonitorCounts,
  type ServiceName,
  type ToService,
} from '@herald/demo-kit';
import { serviceEntry } from './services.js';

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

/** A promise with its resolve/reject; a rejection nobody awaits is not an unhandled one. */
function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** The child process exited while a call was waiting for its answer. */
class ChildExited extends Error {}

interface Incarnation {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  exited: boolean;
  readonly calls: Map<number, { resolve(value: unknown): void; reject(error: Error): void }>;
}

/**
 * One demo service running as its own process (its app's dist/main.js), seen from the driver.
 * Calls reach it over the IPC channel. A call whose process is killed is sent again to the next
 * incarnation once that one is ready: the operations are idempotent by business key.
 */
export class ServiceProcess {
  readonly name: ServiceName;
  readonly #script: string;
  readonly #args: string[];
  readonly #monitor: MonitorCounts;
  #current: Incarnation | undefined;
  #nextReady = deferred();
  #nextCall = 0;
  #stopping = false;
  /** Set when the process died on its own: every waiting call fails with it. */
  #failure: Error | undefined;

  constructor(name: ServiceName, args: string[], monitor: MonitorCounts) {
    this.name = name;
    this.#script = serviceEntry(name);
    this.#args = args;
    this.#monitor = monitor;
  }

  get pid(): number | undefined {
    return this.#current?.child.pid;
  }

  /** Starts a process and waits until its bus is running. */
  async start(timeoutMs = 90_000): Promise<void> {
    const child = fork(this.#script, this.#args, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: [],
    });
    const calls: Incarnation['calls'] = new Map();
    const ready = deferred();
    const incarnation: Incarnation = { child, ready: ready.promise, exited: false, calls };
    this.#current = incarnation;
    const timer = setTimeout(
      () => ready.reject(new Error(`${this.name} did not start within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    child.on('message', (message: FromService) => {
      if (message.type === 'ready') ready.resolve();
      else if (message.type === 'monitor') addCounts(this.#monitor, message.counts);
      else if (message.type === 'reply') {
        const call = calls.get(message.id);
        calls.delete(message.id);
        if (message.ok) call?.resolve(message.value);
        else call?.reject(new Error(`${this.name}: ${message.error}`));
      }
    });
    child.on('exit', (code, signal) => {
      incarnation.exited = true;
      clearTimeout(timer);
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      ready.reject(new Error(`${this.name} exited (${how}) before it was ready`));
      for (const call of calls.values()) call.reject(new ChildExited(`${this.name} exited (${how})`));
      calls.clear();
      // Exits the driver did not ask for fail the run instead of leaving calls hanging.
      if (this.#current === incarnation && !this.#stopping && signal !== 'SIGKILL') {
        this.#failure = new Error(`${this.name} stopped unexpectedly (${how}); see its output above`);
        this.#nextReady.reject(this.#failure);
      }
    });
    await ready.promise;
    clearTimeout(timer);
    this.#nextReady.resolve();
  }

  /** Runs a business operation in the service; waits for a restart if the process was killed. */
  async call(op: string, args: unknown[] = [], timeoutMs = 90_000): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#failure) throw this.#failure;
      if (Date.now() > deadline)
        throw new Error(`${this.name}.${op} did not complete within ${timeoutMs / 1000} s`);
      const incarnation = this.#current;
      if (!incarnation || incarnation.exited) {
        await this.#nextReady.promise;
        continue;
      }
      try {
        await incarnation.ready;
        return await new Promise((resolve, reject) => {
          const id = ++this.#nextCall;
          incarnation.calls.set(id, { resolve, reject });
          incarnation.child.send({ type: 'call', id, op, args } satisfies ToService);
        });
      } catch (error) {
        if (error instanceof ChildExited || incarnation.exited) continue;
        throw error;
      }
    }
  }

  /** SIGKILL: no graceful stop, claimed records and unacknowledged deliveries are left behind. */
  async kill(): Promise<void> {
    const incarnation = this.#current;
    if (!incarnation || incarnation.exited) return;
    this.#nextReady = deferred();
    const exited = new Promise((resolve) => incarnation.child.once('exit', resolve));
    incarnation.child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM: the service stops its bus gracefully; SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 20_000): Promise<void> {
    this.#stopping = true;
    const incarnation = this.#current;
    if (!incarnation || incarnation.exited) return;
    const exited = new Promise((resolve) => incarnation.child.once('exit', resolve));
    incarnation.child.kill('SIGTERM');
    const timer = setTimeout(() => incarnation.child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}
