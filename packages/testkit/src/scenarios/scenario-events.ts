import { type DefinedEvent, defineEvent } from '@herald/core';

/** The payload of the one event every scenario publishes. */
export interface StepPayload {
  /** Ordering key (also the scope of effects: every key starts with the case's id). */
  readonly key: string;
  /** Position within its key, from 0. */
  readonly seq: number;
  /**
   * `first-attempt`: the handler writes its effect, then throws on attempt 1
   * (the write must roll back). `until-fixed`: throws until the operator
   * fixed the replica (a poison message).
   */
  readonly fail?: 'first-attempt' | 'until-fixed';
  /** The handler sleeps this long before writing (slow and fast handlers on one key). */
  readonly delayMs?: number;
}

/** Where one scenario case lives: its event name and consumer group are its own. */
export interface ScenarioScope {
  /** Unique per suite run. */
  readonly runId: string;
  /** Unique per case within the run (`c01`, `c02`, …). */
  readonly caseId: string;
}

const classes = new Map<string, DefinedEvent<StepPayload>>();

/** The event name of a scope's steps. */
export function stepEventName(scope: ScenarioScope): string {
  return `scenario.${scope.runId}.${scope.caseId}.step`;
}

/** The service (and so the consumer group) of a scope's buses. */
export function scenarioService(scope: ScenarioScope): string {
  return `scenario-${scope.runId}-${scope.caseId}`;
}

/** The step event class of a scope; one class per name and process, so `instanceof` holds. */
export function stepEvent(scope: ScenarioScope): DefinedEvent<StepPayload> {
  const name = stepEventName(scope);
  let found = classes.get(name);
  if (!found) {
    // No schema on purpose: hostile payloads reach `instantiate` as they are.
    found = defineEvent<StepPayload>(name);
    classes.set(name, found);
  }
  return found;
}

/** The name of the scenario handler (its inbox dedup key). */
export const STEP_HANDLER = 'scenario-step-handler';
