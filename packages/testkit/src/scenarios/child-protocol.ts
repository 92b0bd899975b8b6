import type { ReplicaReport, ReplicaRole } from './replica.js';
import type { ScenarioScope } from './scenario-events.js';

/** The environment variable that carries a {@link ChildSpec} (JSON) to a child process. */
export const CHILD_SPEC_ENV = 'HERALD_SCENARIO_CHILD';

/** What a child process builds: the pair module, the suite's settings, the case's scope and the replica's role. */
export interface ChildSpec {
  /** Path or `file:` URL of the module whose default export is the `BusPair`. */
  readonly module: string;
  readonly settings: Record<string, string>;
  readonly scope: ScenarioScope;
  readonly role: ReplicaRole;
}

/** Parent → child. */
export type ChildCommand = { readonly type: 'stop' };

/** Child → parent. */
export type ChildMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'report'; readonly report: ReplicaReport };
