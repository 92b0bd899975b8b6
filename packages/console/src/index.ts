export { main as runCli } from './cli.js';
export type { ListQuery, RecordView } from './operations.js';
export { OperationNotSupportedError, Operations } from './operations.js';
export type { ConsoleServer, ConsoleServerOptions } from './server.js';
export { createConsoleServer } from './server.js';
