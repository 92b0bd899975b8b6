import { type ContractEvent, type ContractModel, readContract } from './contract-model.js';
import { type CompatIssue, changes, unaccepted } from './schema-compat.js';

/** The rules `checkContracts` applies; each finding names one. */
export type ContractRule =
  /** A published event is gone (removed or renamed) while another service still handles it. */
  | 'event-removed'
  /** A field a consumer reads is no longer sent, or may now be left out. */
  | 'field-removed'
  /** A field a consumer reads is sent with a JSON type the consumer refuses. */
  | 'field-retyped'
  /** A new required field without a version bump and an upcaster from the previous version. */
  | 'required-field-added'
  /** Enum values dropped, or values sent that a consumer's enum does not accept. */
  | 'enum-narrowed'
  /** A version step with no upcaster: older messages dead-letter at the newer side. */
  | 'upcaster-missing'
  /** The version went down. */
  | 'version-decreased'
  /** A field sent to a consumer whose object refuses unknown fields. */
  | 'field-unknown-to-consumer'
  /** Something that cannot be checked or is worth a look, without failing. */
  | 'note';

/** One result of the check. */
export interface ContractFinding {
  /** The rule that found it. */
  readonly rule: ContractRule;
  /** `breaking` fails the check; `warning` and `info` do not. */
  readonly severity: 'breaking' | 'warning' | 'info';
  /** The event's name. */
  readonly event: string;
  /** The payload path (`orderId`, `lines[].sku`), when the finding is about a field. */
  readonly field?: string;
  /** The other service involved (a consumer or a producer). */
  readonly peer?: string;
  /** What is wrong (or worth a look), as a sentence for people. */
  readonly message: string;
}

/** What `checkContracts` found: `ok` is false when any finding is breaking. */
export interface ContractReport {
  /** The service whose current contract was checked. */
  readonly service: string;
  /** True when no finding is breaking: the change may ship. */
  readonly ok: boolean;
  /** Every finding, breaking or not, in the order the rules ran. */
  readonly findings: readonly ContractFinding[];
}

/**
 * Compares a service's current contract with its committed snapshot and with
 * the contracts of other services (their snapshots), and lists breaking
 * changes: an event removed or renamed while others handle it, a field a
 * consumer reads removed or retyped, a new required field without a version
 * bump and upcaster, a narrowed enum, a missing upcaster. Additive changes
 * (new events, new optional fields, new enum values the consumers accept) pass.
 *
 * `snapshot` may be undefined (the first export). Peers are read both ways:
 * as consumers of what this service sends, and as producers of what it handles.
 */
export function checkContracts(
  current: unknown,
  snapshot: unknown | undefined,
  peers: readonly unknown[] = [],
): ContractReport {
  const now = readContract(current, 'the current contract');
  const before = snapshot === undefined ? undefined : readContract(snapshot, 'the snapshot');
  const others = peers
    .map((peer, i) => readContract(peer, `peer contract #${i + 1}`))
    .filter((p) => p.service !== now.service);
  const findings: ContractFinding[] = [];
  if (before) findings.push(...removedEvents(now, before, others));
  for (const [name, event] of now.events) {
    if (event.sent) {
      const consumerFindings = others.flatMap((peer) => consumerChecks(name, event, peer, true));
      findings.push(...consumerFindings);
      const previous = before?.events.get(name);
      if (previous?.sent) findings.push(...evolutionChecks(name, previous, event, consumerFindings));
    }
    if (event.handlers.length > 0) {
      for (const peer of others) {
        const produced = peer.events.get(name);
        if (produced?.sent) findings.push(...consumerChecks(name, produced, now, false, peer.service));
      }
    }
  }
  return { service: now.service, ok: !findings.some((f) => f.severity === 'breaking'), findings };
}

function removedEvents(
  now: ContractModel,
  before: ContractModel,
  others: readonly ContractModel[],
): ContractFinding[] {
  const added = [...now.events.values()]
    .filter((e) => e.sent && !before.events.get(e.info.name)?.sent)
    .map((e) => e.info.name);
  const findings: ContractFinding[] = [];
  for (const [name, previous] of before.events) {
    if (!previous.sent || now.events.get(name)?.sent) continue;
    const handledBy = others.filter((peer) => (peer.events.get(name)?.handlers.length ?? 0) > 0);
    const hint = added.length > 0 ? ` (renamed? new here: ${added.join(', ')})` : '';
    if (handledBy.length === 0) {
      findings.push({
        rule: 'event-removed',
        severity: 'info',
        event: name,
        message: `no longer published${hint}; no consumer contract handles it`,
      });
      continue;
    }
    for (const peer of handledBy) {
      const handlers = peer.events
        .get(name)!
        .handlers.map((h) => h.name)
        .join(', ');
      findings.push({
        rule: 'event-removed',
        severity: 'breaking',
        event: name,
        peer: peer.service,
        message: `no longer published${hint}, but ${peer.service} still handles it (${handlers})`,
      });
    }
  }
  return findings;
}

/**
 * What `producer` sends of `name` against what `consumerModel` handles. `outgoing`: this
 * service is the producer (the peer named in findings is the consumer), else the reverse.
 */
function consumerChecks(
  name: string,
  produced: ContractEvent,
  consumerModel: ContractModel,
  outgoing: boolean,
  producerService?: string,
): ContractFinding[] {
  const consumed = consumerModel.events.get(name);
  if (!consumed || consumed.handlers.length === 0) return [];
  const peer = outgoing ? consumerModel.service : producerService!;
  const who = consumerModel.service;
  const findings: ContractFinding[] = [];
  const { version: sentVersion } = produced.info;
  const readVersion = consumed.info.version;
  if (readVersion > sentVersion) {
    const gaps = range(sentVersion, readVersion).filter((v) => !consumed.info.upcasters.includes(v));
    if (gaps.length > 0) {
      findings.push({
        rule: 'upcaster-missing',
        severity: 'breaking',
        event: name,
        peer,
        message: `v${sentVersion} is sent; ${who} reads v${readVersion} with no upcaster from ${gaps.map((v) => `v${v}`).join(', ')}: every message dead-letters`,
      });
    } else {
      findings.push({
        rule: 'note',
        severity: 'info',
        event: name,
        peer,
        message: `${who} upcasts v${sentVersion}→v${readVersion}; fields not compared`,
      });
    }
    return findings;
  }
  if (!consumed.payload) return findings;
  if (!produced.payload) {
    findings.push({
      rule: 'note',
      severity: 'warning',
      event: name,
      peer,
      message: `sent without a described schema; cannot check what ${who} reads`,
    });
    return findings;
  }
  for (const issue of unaccepted(produced.payload, consumed.payload)) {
    findings.push(fromIssue(name, peer, who, issue));
  }
  return findings;
}

function fromIssue(event: string, peer: string, who: string, issue: CompatIssue): ContractFinding {
  const base = { severity: 'breaking' as const, event, peer, field: issue.path };
  switch (issue.kind) {
    case 'missing':
      return {
        ...base,
        rule: 'field-removed',
        message: `${issue.path} is not sent, but ${who} ${issue.required ? 'requires' : 'reads'} it`,
      };
    case 'optional':
      return {
        ...base,
        rule: 'field-removed',
        message: `${issue.path} may be left out, but ${who} requires it`,
      };
    case 'type':
      return {
        ...base,
        rule: 'field-retyped',
        message: `${issue.path}: ${issue.detail.replace('the consumer', who)}`,
      };
    case 'enum':
      return {
        ...base,
        rule: 'enum-narrowed',
        message: `${issue.path}: ${issue.detail.replace('the consumer', who)}`,
      };
    case 'closed':
      return {
        ...base,
        rule: 'field-unknown-to-consumer',
        message: `${issue.path} is sent, but ${who} refuses unknown fields there`,
      };
  }
}

/** The producer's own history: version, upcasters, required fields, enums, and notes on what no consumer reads. */
function evolutionChecks(
  name: string,
  previous: ContractEvent,
  event: ContractEvent,
  consumerFindings: readonly ContractFinding[],
): ContractFinding[] {
  const findings: ContractFinding[] = [];
  const before = previous.info.version;
  const now = event.info.version;
  if (now < before) {
    findings.push({
      rule: 'version-decreased',
      severity: 'breaking',
      event: name,
      message: `version went from v${before} down to v${now}`,
    });
    return findings;
  }
  const gaps = range(before, now).filter((v) => !event.info.upcasters.includes(v));
  for (const v of gaps) {
    findings.push({
      rule: 'upcaster-missing',
      severity: 'breaking',
      event: name,
      message: `v${before}→v${now} without an upcaster from v${v}: v${v} messages still in outboxes, brokers or dead-letter stores dead-letter at an updated consumer`,
    });
  }
  if (previous.payload && !event.payload) {
    findings.push({
      rule: 'note',
      severity: 'warning',
      event: name,
      message: 'the event no longer has a described schema',
    });
  }
  const covered = now > before && gaps.length === 0;
  const flagged = new Set(consumerFindings.filter((f) => f.event === name && f.field).map((f) => f.field));
  for (const change of changes(previous.payload, event.payload)) {
    const field = change.path;
    switch (change.kind) {
      case 'required-added':
        findings.push(
          covered
            ? {
                rule: 'required-field-added',
                severity: 'info',
                event: name,
                field,
                message: `${field}: ${change.detail}, covered by v${before}→v${now} and its upcaster`,
              }
            : {
                rule: 'required-field-added',
                severity: 'breaking',
                event: name,
                field,
                message: `${field}: ${change.detail} without ${now > before ? 'an upcaster' : 'a version bump and an upcaster'}: v${before} messages lack it`,
              },
        );
        break;
      case 'enum-narrowed':
        findings.push({
          rule: 'enum-narrowed',
          severity: 'breaking',
          event: name,
          field,
          message: `${field}: ${change.detail}`,
        });
        break;
      default:
        // Breaking only where a consumer reads it (reported above); otherwise worth a look.
        if (!flagged.has(field)) {
          findings.push({
            rule: change.kind === 'retyped' ? 'field-retyped' : 'field-removed',
            severity: 'warning',
            event: name,
            field,
            message: `${field}: ${change.detail}; no consumer contract given reads it`,
          });
        }
    }
  }
  return findings;
}

function range(from: number, to: number): number[] {
  const versions: number[] = [];
  for (let v = from; v < to; v++) versions.push(v);
  return versions;
}
