/**
 * Entry of a scenario child process (forked by `ScenarioChild`): imports the
 * pair module named in `HERALD_SCENARIO`, builds one replica with the given
 * role, starts it, and reports to the parent over IPC. `{ type: 'stop' }`
 * stops the bus and exits 0. A role with `killAfterSends`/`killAfterAcks`
 * SIGKILLs itself at that point instead.
 */
import { pathToFileURL } from 'node:url';
import { CHILD_SPEC_ENV, type ChildCommand, type ChildMessage, type ChildSpec } from './child-protocol.js';
import type { BusPair } from './pair.js';
import { type ReplicaReport, ScenarioReplica } from './replica.js';

const send = (message: ChildMessage) => process.send?.(message);
const report = (entry: ReplicaReport) => send({ type: 'report', report: entry });

async function main(): Promise<void> {
  const raw = process.env[CHILD_SPEC_ENV];
  if (!raw) throw new Error(`${CHILD_SPEC_ENV} is not set`);
  const spec = JSON.parse(raw) as ChildSpec;
  const url = spec.module.startsWith('file:') ? spec.module : pathToFileURL(spec.module).href;
  const pair = (await import(url)).default as BusPair | undefined;
  if (!pair?.createStore) throw new Error(`${spec.module} has no default export that is a BusPair`);
  const replica = await ScenarioReplica.create({
    pair,
    settings: spec.settings,
    scope: spec.scope,
    role: spec.role,
    report,
  });
  process.on('message', (command: ChildCommand) => {
    if (command.type !== 'stop') return;
    replica.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        report({ type: 'error', message: `stop failed: ${String(error)}` });
        process.exit(1);
      },
    );
  });
  await replica.bus.start();
  send({ type: 'ready' });
}

main().catch((error: unknown) => {
  report({ type: 'error', message: `start failed: ${String(error)}` });
  process.exit(1);
});
