import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Values that follow a request through async calls: the tenant, the user, the
 * culture, the correlation id, and whatever else a team carries. A publish
 * filter copies them into a message; a consume filter restores them around the
 * handler (see {@link propagateAmbientContext}).
 */
export interface AmbientContextValues {
  /** The current tenant: stamped on published events; a handler runs with its event's tenant. */
  readonly tenantId?: string;
  /** The acting user (carried to handlers only with {@link propagateAmbientContext}). */
  readonly userId?: string;
  /** The request's culture, e.g. `de-CH` (carried to handlers only with {@link propagateAmbientContext}). */
  readonly culture?: string;
  /** Groups the work of one original request: stamped on published events; a handler runs with its event's. */
  readonly correlationId?: string;
  readonly [key: string]: string | undefined;
}

const storage = new AsyncLocalStorage<AmbientContextValues>();
const EMPTY: AmbientContextValues = Object.freeze({});

/**
 * The ambient context (AsyncLocalStorage based). Core stamps `tenantId` on
 * published events from it and runs every handler with the event's tenant
 * and correlation id in it.
 *
 * ```ts
 * app.use((req, _res, next) => ambientContext.run({ tenantId: req.tenant, userId: req.user }, next));
 * ambientContext.current().tenantId; // anywhere below, including handlers
 * ```
 */
export const ambientContext = {
  /** The values of the calling async context (empty outside any `run`). */
  current(): AmbientContextValues {
    return storage.getStore() ?? EMPTY;
  },
  /**
   * Runs `work` with `values` merged over the current ones; a key given as
   * `undefined` is removed.
   */
  run<T>(values: AmbientContextValues, work: () => T): T {
    const merged: Record<string, string> = { ...(storage.getStore() ?? EMPTY) } as Record<string, string>;
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) delete merged[key];
      else if (typeof value !== 'string')
        throw new TypeError(`Ambient context value "${key}" must be a string`);
      else merged[key] = value;
    }
    return storage.run(Object.freeze(merged), work);
  },
};
