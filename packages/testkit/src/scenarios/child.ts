import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../internal/wait.js';
import { CHILD_SPEC_ENV, type ChildMessage, type ChildSpec } from './child-protocol.js';
import type { ReplicaReport } from './replica.js';

/** The child entry next to this module: compiled (`.js`) from dist, or the source under tsx. */
function childEntry(): string {
  const compiled = fileURLToPath(new URL('./child-main.js', import.meta.url));
  return existsSync(compiled) ? compiled : fileURLToPath(new URL('./child-main.ts', import.meta.url));
}

/**
 * A replica in its own process, so a scenario can SIGKILL it. TypeScript pair
 * modules are loaded with `--import tsx` (resolved from the working
 * directory, so the adapter package needs `tsx` as a dev dependency).
 */
export class ScenarioChild {
  readonly reports: ReplicaReport[] = [];
  readonly process: ChildProcess;
  readonly exited: Promise<void>;
  #ready = false;

  constructor(spec: ChildSpec) {
    const entry = childEntry();
    const needsTsx = entry.endsWith('.ts') || /\.[cm]?ts$/.test(spec.module);
    this.process = fork(entry, [], {
      execArgv: needsTsx ? ['--import', 'tsx'] : [],
      env: { ...process.env, [CHILD_SPEC_ENV]: JSON.stringify(spec) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => this.process.once('exit', () => resolve()));
    this.process.on('message', (message: ChildMessage) => {
      if (message.type === 'ready') this.#ready = true;
      else this.reports.push(message.report);
    });
  }

  /** Errors the child reported. */
  errors(): string[] {
    return this.reports.flatMap((report) => (report.type === 'error' ? [report.message] : []));
  }

  /** Waits until the child started its bus; rejects with its error when it failed. */
  async ready(timeoutMs: number): Promise<void> {
    await waitFor(() => this.#ready || this.errors().length > 0 || this.process.exitCode !== null, {
      timeoutMs,
      intervalMs: 20,
      describe: () => 'the child process did not report ready',
    });
    if (!this.#ready) throw new Error(`scenario child failed: ${this.errors().join('; ') || 'exited early'}`);
  }

  /** Whether the child was killed by SIGKILL (its own crash or the test's). */
  get killed(): boolean {
    return this.process.signalCode === 'SIGKILL';
  }

  /** Asks the child to stop its bus; resolves when it exited. */
  async stop(): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null)
      this.process.send({ type: 'stop' });
    await this.exited;
  }

  /** SIGKILLs the child (no-op when it is gone already). */
  async kill(): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill('SIGKILL');
    await this.exited;
  }
}
