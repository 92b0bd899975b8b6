// What the three demo service apps (apps/catalog, apps/ordering, apps/notification) and the
// demo's driver (apps/demo) share: the integration event contracts, the flags, each service's
// database and transport, monitoring, and the service-process entry.
export * from './config.js';
export * from './contracts.js';
export * from './dapr.js';
export * from './database.js';
export * from './effects.js';
export * from './monitoring.js';
export * from './service-process.js';
export * from './transport.js';
