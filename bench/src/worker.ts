// Entry point of every child process: `node worker.ts <role> <json config>`.
// Loads src/roles/<role>.ts and runs its default export with the config and an IPC channel.
import { Channel, type Message } from './proc.ts';

export interface WorkerContext {
  /** Messages from the runner. */
  readonly channel: Channel;
  send(message: Message): void;
}

const [role, configText] = process.argv.slice(2);
if (!role || !/^[a-z0-9-]+$/.test(role) || !process.send) {
  console.error('usage: worker.ts <role> <json config> (started by the bench runner over IPC)');
  process.exit(2);
}
const channel = new Channel(`worker ${role}`);
process.on('message', (message: Message) => channel.deliver(message));
process.on('disconnect', () => process.exit(0));
const context: WorkerContext = {
  channel,
  send: (message) => {
    if (process.connected) process.send!(message);
  },
};

try {
  const module = (await import(`./roles/${role}.ts`)) as {
    default: (config: any, context: WorkerContext) => Promise<void>;
  };
  await module.default(JSON.parse(configText ?? '{}'), context);
  process.disconnect?.();
  process.exit(0);
} catch (error) {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  console.error(text);
  context.send({ type: 'error', message: text.split('\n').slice(0, 6).join('\n') });
  setTimeout(() => process.exit(1), 100);
}
