import type { Db } from 'mongodb';

/** What the server reports about itself (`hello` plus `buildInfo`). */
export interface ServerInfo {
  /** Replica set name; absent on a standalone server and on FerretDB. */
  readonly setName?: string;
  /** True when connected to `mongos` (sharded cluster). */
  readonly mongos: boolean;
  /** Present when the server supports logical sessions. */
  readonly logicalSessionTimeoutMinutes?: number;
  /** MongoDB version the server claims (FerretDB claims one too). */
  readonly version?: string;
  /** FerretDB's own version, when the server is FerretDB. */
  readonly ferretDbVersion?: string;
  /** Multi-document transactions are available (replica set or mongos with sessions, and not FerretDB). */
  readonly transactions: boolean;
}

/** Asks the server what it is. `hello` needs MongoDB 4.4+ (or 4.2.10+); older servers answer `isMaster`. */
export async function inspectServer(db: Db): Promise<ServerInfo> {
  const admin = db.admin();
  const hello = await admin.command({ hello: 1 }).catch(() => admin.command({ isMaster: 1 }));
  const build = await admin.command({ buildInfo: 1 }).catch(() => ({}) as Record<string, unknown>);
  const setName = typeof hello.setName === 'string' ? hello.setName : undefined;
  const mongos = hello.msg === 'isdbgrid';
  const sessions =
    typeof hello.logicalSessionTimeoutMinutes === 'number' ? hello.logicalSessionTimeoutMinutes : undefined;
  const ferretDbVersion = typeof build.ferretdbVersion === 'string' ? build.ferretdbVersion : undefined;
  return {
    ...(setName !== undefined ? { setName } : {}),
    mongos,
    ...(sessions !== undefined ? { logicalSessionTimeoutMinutes: sessions } : {}),
    ...(typeof build.version === 'string' ? { version: build.version } : {}),
    ...(ferretDbVersion !== undefined ? { ferretDbVersion } : {}),
    // FerretDB 1.x reports logical sessions but rejects `autocommit`/`startTransaction`.
    transactions:
      (setName !== undefined || mongos) && sessions !== undefined && ferretDbVersion === undefined,
  };
}
