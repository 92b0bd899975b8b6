import { recordDistributedEvent, WireHeaders } from '@herald/core';
import { expect } from 'vitest';
import { seededRandom } from '../internal/random.js';
import { sleep, waitFor } from '../internal/wait.js';
import { type ConformanceCase, skipCase } from '../suites/case.js';
import { testWireMessage } from '../suites/messages.js';
import { type BusScenarioContext, duplicatesIn, effectCounts, runsIn, sentIn } from './context.js';
import type { ScenarioEffect } from './pair.js';
import type { ReplicaReport } from './replica.js';
import { STEP_HANDLER, type StepPayload, stepEvent, stepEventName } from './scenario-events.js';

type Scenario = ConformanceCase<BusScenarioContext>;

/** `count` steps spread round-robin over `keys`, each key's `seq` counting from 0. */
function steps(
  ctx: BusScenarioContext,
  keys: readonly string[],
  count: number,
  extra?: (index: number) => Partial<StepPayload>,
): StepPayload[] {
  const seqs = new Map<string, number>();
  return Array.from({ length: count }, (_, index) => {
    const key = ctx.key(keys[index % keys.length]!);
    const seq = seqs.get(key) ?? 0;
    seqs.set(key, seq + 1);
    return { key, seq, ...extra?.(index) };
  });
}

/** Asserts that every published step has exactly one effect and nothing else has one. */
function expectExactlyOnce(effects: readonly ScenarioEffect[], published: readonly StepPayload[]): void {
  const byEvent = effectCounts(effects);
  const twice = [...byEvent].filter(([, count]) => count !== 1);
  expect(twice, 'events whose effect was written more than once').toEqual([]);
  const got = effects.map((effect) => `${effect.key}#${effect.seq}`).sort();
  expect(got, 'the effects are those of the published steps').toEqual(
    published.map((step) => `${step.key}#${step.seq}`).sort(),
  );
}

function waitForAll(ctx: BusScenarioContext, published: readonly StepPayload[], timeoutMs?: number) {
  const expected = new Set(published.map((step) => `${step.key}#${step.seq}`));
  let missing: string[] = [];
  return ctx.waitForEffects(
    (effects) => {
      const seen = new Set(effects.map((effect) => `${effect.key}#${effect.seq}`));
      missing = [...expected].filter((step) => !seen.has(step));
      return missing.length === 0;
    },
    // The missing steps by name: which keys (partitions, waves) lost what.
    () =>
      `every one of ${expected.size} steps has an effect; missing ${missing.length}: ${missing.slice(0, 12).join(', ')}${missing.length > 12 ? ', …' : ''}`,
    timeoutMs,
  );
}

function waitForReport(
  reports: readonly ReplicaReport[],
  check: (report: ReplicaReport) => boolean,
  ctx: BusScenarioContext,
  describe: string,
): Promise<void> {
  return waitFor(() => reports.some(check), {
    timeoutMs: ctx.timeoutMs,
    intervalMs: 20,
    describe: () => describe,
  });
}

const commitAndRollback: Scenario = {
  name: 'a committed publish is delivered and handled; a rolled-back one leaves nothing',
  async run(ctx) {
    const { replica, reports } = await ctx.replica({ replica: 'a' });
    const committed = steps(ctx, ['committed'], 3);
    if (!ctx.features.transactionalOutbox) {
      await replica.publish(committed);
      await waitForAll(ctx, committed);
      await sleep(ctx.quietMs);
      expectExactlyOnce(await ctx.effects(), committed);
      skipCase(
        'delivery checked; not the rollback (transactionalOutbox is false: publish takes no transaction)',
      );
    }
    await replica.publish([committed[0]!]);
    await replica.publish([{ key: ctx.key('rolled-back'), seq: 0 }], { rollback: true });
    await replica.publish(committed.slice(1));
    await waitForAll(ctx, committed);
    await sleep(ctx.quietMs);
    expectExactlyOnce(await ctx.effects(), committed);
    expect(
      runsIn(reports).filter((run) => run.key === ctx.key('rolled-back')),
      'the rolled-back event ran',
    ).toEqual([]);
  },
};

const unitOfWork: Scenario = {
  name: 'the unit of work: events published or recorded inside it go out on commit only',
  async run(ctx) {
    if (!ctx.features.transactionalOutbox) {
      skipCase('transactionalOutbox is false: the outbox cannot join a unit of work’s transaction');
    }
    const { replica, unitOfWork } = await ctx.replica({ replica: 'a' }, { unitOfWork: true });
    const Step = stepEvent(ctx.scope);
    const published = { key: ctx.key('committed'), seq: 0 };
    const recorded = { key: ctx.key('committed'), seq: 1 };
    const order = { id: 'an entity the unit of work saves' };
    await unitOfWork!.run(async () => {
      await replica.bus.publish(new Step(published), { orderingKey: published.key });
      recordDistributedEvent(order, new Step(recorded));
    });
    await expect(
      unitOfWork!.run(async () => {
        await replica.bus.publish(new Step({ key: ctx.key('rolled-back'), seq: 0 }));
        recordDistributedEvent({}, new Step({ key: ctx.key('rolled-back'), seq: 1 }));
        throw new Error('scenario: the business rule failed');
      }),
    ).rejects.toThrow('business rule failed');
    // Fails at completion, after the bus wrote its outbox records: they must roll back too.
    await expect(
      unitOfWork!.run(async () => {
        await replica.bus.publish(new Step({ key: ctx.key('rolled-back'), seq: 2 }));
        recordDistributedEvent({}, new Step({ key: ctx.key('rolled-back'), seq: 3 }));
        unitOfWork!.current()!.beforeComplete(async () => {
          throw new Error('scenario: the completion failed');
        });
      }),
    ).rejects.toThrow('completion failed');
    await waitForAll(ctx, [published, recorded]);
    await sleep(ctx.quietMs);
    expectExactlyOnce(await ctx.effects(), [published, recorded]);
  },
};

const relayCrash: Scenario = {
  name: 'a relay SIGKILLed between the broker confirm and the mark: another relay sends again, the inbox absorbs it',
  async run(ctx) {
    ctx.requireCrashes();
    const consumer = await ctx.replica({ replica: 'consumer', relay: false });
    const published = steps(ctx, ['a', 'b', 'c', 'd'], 20);
    await consumer.replica.publish(published);
    const relay1 = await ctx.child({ replica: 'relay-1', consume: false, killAfterSends: 1 });
    await Promise.race([relay1.exited, sleep(ctx.timeoutMs)]);
    expect(relay1.killed, 'the first relay died after its first confirmed send').toBe(true);
    const relay2 = await ctx.replica({ replica: 'relay-2', consume: false });
    await waitForAll(ctx, published);
    await waitFor(() => sentIn(relay2.reports).length > 0, {
      timeoutMs: ctx.timeoutMs,
      describe: () => 'the second relay sent nothing: the crashed batch was marked after all',
    });
    await sleep(ctx.quietMs);
    expectExactlyOnce(await ctx.effects(), published);
    expect(duplicatesIn(consumer.reports).length, 'redeliveries the inbox recognised').toBeGreaterThan(0);
  },
};

const consumerCrash: Scenario = {
  name: 'a consumer SIGKILLed mid-stream (inbox committed, ack not sent): every effect exactly once',
  async run(ctx) {
    ctx.requireCrashes();
    // Without a transaction the effect and the inbox entry are two writes: a kill between them
    // repeats the effect on redelivery (at-least-once), which this case cannot then assert.
    if (!ctx.features.transactionalInbox) {
      skipCase(
        'the pair has no transactional inbox: a kill between the effect and the inbox entry repeats the effect',
      );
    }
    const publisher = await ctx.replica({ replica: 'publisher', consume: false });
    const consumer1 = await ctx.child({ replica: 'consumer-1', relay: false, killAfterAcks: 10 });
    const published = steps(ctx, ['a', 'b', 'c', 'd'], 60);
    await publisher.replica.publish(published);
    await Promise.race([consumer1.exited, sleep(ctx.timeoutMs)]);
    expect(consumer1.killed, 'the first consumer died after its 10th ack decision').toBe(true);
    const consumer2 = await ctx.replica({ replica: 'consumer-2', relay: false });
    await waitForAll(ctx, published, ctx.timeoutMs * 2);
    await sleep(ctx.quietMs);
    const effects = await ctx.effects();
    expectExactlyOnce(effects, published);
    expect(effects.filter((effect) => effect.replica === 'consumer-1').length).toBeGreaterThanOrEqual(10);
    expect(duplicatesIn(consumer2.reports).length, 'redeliveries the inbox recognised').toBeGreaterThan(0);
  },
};

const twoRelays: Scenario = {
  name: 'two relays on one outbox: each event is sent once and handled once',
  async run(ctx) {
    const consumer = await ctx.replica({ replica: 'consumer', relay: false });
    const relayA = await ctx.replica({ replica: 'relay-a', consume: false });
    const relayB = await ctx.replica({ replica: 'relay-b', consume: false });
    const published = steps(ctx, ['a', 'b', 'c', 'd', 'e'], 100);
    // Published in waves through both relays' buses, so both wake and claim.
    for (let wave = 0; wave < 4; wave++) {
      const slice = published.slice(wave * 25, wave * 25 + 25);
      await (wave % 2 === 0 ? relayA : relayB).replica.publish(slice);
    }
    await waitForAll(ctx, published);
    await sleep(ctx.quietMs);
    const sent = [...sentIn(relayA.reports), ...sentIn(relayB.reports)];
    const sentTwice = sent.filter((id, index) => sent.indexOf(id) !== index);
    expect(sentTwice, 'events both relays sent').toEqual([]);
    expect(sent).toHaveLength(published.length);
    expect(duplicatesIn(consumer.reports), 'deliveries that were duplicates').toEqual([]);
    expectExactlyOnce(await ctx.effects(), published);
  },
};

/** Bounds the broker-restart scenario's waves: 240 × 250 ms covers a minute-long restart. */
const RESTART_WAVES = 240;
const RESTART_WAVE_INTERVAL_MS = 250;

const brokerRestart: Scenario = {
  name: 'a broker restart mid-stream loses nothing and duplicates no effect',
  async run(ctx) {
    if (!ctx.features.brokerRestart || !ctx.pair.restartBroker) {
      skipCase('the pair declares no broker restart (brokerRestart false or no restartBroker hook)');
    }
    const { replica } = await ctx.replica({ replica: 'a' });
    const before = steps(ctx, ['a', 'b', 'c'], 30);
    await replica.publish(before);
    await ctx.waitForEffects((effects) => effects.length > 0, 'something was handled before the restart');
    let restarted = false;
    const restarting = ctx.pair.restartBroker().finally(() => {
      restarted = true;
    });
    void restarting.catch(() => undefined); // awaited below: a failed restart fails the case there
    // Small waves until the broker is back, so some are surely handed to the transport while
    // the broker is down (one batch published at the start would go out before it stops).
    const during: StepPayload[] = [];
    for (let wave = 0; !restarted && wave < RESTART_WAVES; wave++) {
      const slice = steps(ctx, [`during-${wave}`], 3);
      await replica.publish(slice);
      during.push(...slice);
      await Promise.race([restarting.catch(() => undefined), sleep(RESTART_WAVE_INTERVAL_MS)]);
    }
    await restarting;
    const after = steps(ctx, ['g'], 5);
    await replica.publish(after);
    const all = [...before, ...during, ...after];
    await waitForAll(ctx, all, ctx.timeoutMs * 4);
    await sleep(ctx.quietMs);
    expectExactlyOnce(await ctx.effects(), all);
  },
};

const poison: Scenario = {
  name: 'a poison message is dead-lettered with its reason while other keys flow; an operator re-publish then succeeds',
  async run(ctx) {
    // Slow stored retries (2.5 s, then 5 s, times the pair's slowdown): a wide window in which
    // the other keys must flow.
    const { replica, reports } = await ctx.replica({
      replica: 'a',
      options: { failedRetryInterval: 2_500 * ctx.slowdown },
    });
    const poisonStep: StepPayload = { key: ctx.key('poison'), seq: 0, fail: 'until-fixed' };
    const healthy = steps(ctx, ['a', 'b'], 20);
    await replica.publish([poisonStep]);
    await waitForReport(
      reports,
      (report) => report.type === 'run' && report.run.key === poisonStep.key && report.run.failed,
      ctx,
      'the poison message never ran',
    );
    await replica.publish(healthy);
    await waitForAll(ctx, healthy);
    expect(
      reports.filter((report) => report.type === 'dead-lettered'),
      'other keys waited until the poison message was given up',
    ).toEqual([]);
    await waitForReport(
      reports,
      (report) => report.type === 'dead-lettered' && report.stage === 'handle',
      ctx,
      'the poison message was never dead-lettered',
    );
    const letter = reports.find((report) => report.type === 'dead-lettered') as Extract<
      ReplicaReport,
      { type: 'dead-lettered' }
    >;
    expect(letter.reason).toContain('until-fixed step');
    const poisonRuns = runsIn(reports).filter((run) => run.key === poisonStep.key);
    expect(letter.messageId).toBe(poisonRuns[0]?.eventId);
    if (ctx.features.transactionalInbox) {
      expect(
        (await ctx.effects()).filter((effect) => effect.key === poisonStep.key),
        'failed runs left effects',
      ).toEqual([]);
    }

    // The operator fixes the handler and re-publishes the dead letter from the inbox.
    replica.fixed = true;
    const inbox = replica.store.eventLog.inbox!;
    const requeued = await inbox.requeue(
      [{ messageId: letter.messageId!, handler: STEP_HANDLER }],
      new Date(),
    );
    expect(requeued, 'dead inbox entries the re-publish changed').toBe(1);
    await ctx.waitForEffects(
      (effects) => effects.some((effect) => effect.key === poisonStep.key),
      'the re-published message was not handled',
    );
    await sleep(ctx.quietMs);
    const effects = await ctx.effects();
    const poisonEffects = effects.filter((effect) => effect.key === poisonStep.key);
    expect(poisonEffects).toHaveLength(ctx.features.transactionalInbox ? 1 : poisonRuns.length + 1);
    expectExactlyOnce(
      effects.filter((effect) => effect.key !== poisonStep.key),
      healthy,
    );
  },
};

const foreignMessages: Scenario = {
  name: "a foreign publisher's malformed, header-less and unknown-name messages are dead-lettered with the reason; the consumer lives on",
  async run(ctx) {
    const { replica, reports } = await ctx.replica({ replica: 'a' });
    const name = stepEventName(ctx.scope);
    const malformed = testWireMessage({ name, body: Uint8Array.from([0xff, 0xfe, 0x00, 0x7b, 0x22]) });
    const unknown = testWireMessage({
      name: `${name}-unknown`,
      payload: { key: ctx.key('unknown'), seq: 0 },
    });
    await ctx.foreignPublish({ routeAs: name, headers: { ...malformed.headers }, body: malformed.body });
    await ctx.foreignPublish({
      routeAs: name,
      headers: { 'x-foreign': 'no herald headers' },
      body: new TextEncoder().encode(JSON.stringify({ key: ctx.key('headerless'), seq: 0 })),
    });
    await ctx.foreignPublish({ routeAs: name, headers: { ...unknown.headers }, body: unknown.body });
    const good = steps(ctx, ['good'], 2);
    await replica.publish(good);
    const letters = () =>
      reports.flatMap((report) =>
        report.type === 'dead-lettered' && report.stage === 'receive' ? [report] : [],
      );
    await waitFor(() => letters().length >= 3, {
      timeoutMs: ctx.timeoutMs,
      intervalMs: 20,
      describe: () => `${letters().length} of 3 foreign messages were dead-lettered`,
    });
    await waitForAll(ctx, good);
    await sleep(ctx.quietMs);
    for (const letter of letters())
      expect(letter.reason.length, 'a dead letter without a reason').toBeGreaterThan(0);
    const ofMalformed = letters().find((letter) => letter.messageId === malformed.id);
    expect(ofMalformed, 'the malformed message was dead-lettered under its id').toBeDefined();
    const ofUnknown = letters().find((letter) => letter.messageId === unknown.id);
    expect(ofUnknown?.reason, 'the unknown event was dead-lettered, naming it').toContain(`${name}-unknown`);
    expect(letters().filter((letter) => letter !== ofMalformed && letter !== ofUnknown)).toHaveLength(1);
    expect(
      runsIn(reports).filter((run) => !run.key.endsWith('.good')),
      'a foreign message reached the handler',
    ).toEqual([]);
    expect(replica.bus.state).toBe('running');
    expectExactlyOnce(await ctx.effects(), good);
  },
};

const protoPayload: Scenario = {
  name: 'a foreign `__proto__` payload neither swaps the event prototype nor pollutes Object.prototype',
  async run(ctx) {
    const { reports } = await ctx.replica({ replica: 'a' });
    const name = stepEventName(ctx.scope);
    const key = ctx.key('proto');
    const carrier = testWireMessage({ name, orderingKey: key });
    const body = `{"key":${JSON.stringify(key)},"seq":0,"__proto__":{"isAdmin":true,"seq":99}}`;
    await ctx.foreignPublish({
      routeAs: name,
      headers: { ...carrier.headers },
      body: new TextEncoder().encode(body),
    });
    await ctx.waitForEffects((effects) => effects.length > 0, 'the message was not handled');
    await sleep(ctx.quietMs);
    const runs = runsIn(reports);
    expect(
      runs.map((run) => ({ key: run.key, seq: run.seq, clean: run.clean })),
      'the handler ran once on a clean event (clean: false means a swapped prototype or a polluted object)',
    ).toEqual([{ key, seq: 0, clean: true }]);
    expect(runs[0]!.eventId).toBe(carrier.headers[WireHeaders.id]);
    expect(({} as { isAdmin?: unknown }).isAdmin, 'Object.prototype was polluted').toBeUndefined();
  },
};

const perKeyOrder: Scenario = {
  name: 'per-key order holds under concurrency, with slow and fast handlers on one key',
  async run(ctx) {
    // Core keeps a key's deliveries in the order they arrive; it cannot undo a transport that
    // delivers them out of order, so a pass there would be luck, not a property.
    if (!ctx.features.orderedByKey) {
      skipCase('the pair declares no per-key order (orderedByKey false): the transport may reorder a key');
    }
    const random = seededRandom(23);
    const { reports } = await ctx.replica({ replica: 'a', options: { concurrency: 16 } });
    const published = steps(ctx, ['k0', 'k1', 'k2', 'k3', 'k4'], 100, (index) => ({
      delayMs: index % 7 === 0 ? 30 : Math.floor(random() * 4),
    }));
    const { replica } = await ctx.replica({ replica: 'publisher', consume: false });
    await replica.publish(published);
    await waitForAll(ctx, published);
    const runs = runsIn(reports).filter((run) => !run.failed);
    for (const key of new Set(published.map((step) => step.key))) {
      const order = runs.filter((run) => run.key === key).map((run) => run.seq);
      expect(order, `order of key ${key}`).toEqual(Array.from({ length: 20 }, (_, seq) => seq));
    }
  },
};

const txEffects: Scenario = {
  name: '`ctx.tx` effects commit exactly once, also when the handler or a neighbour in its batch fails after writing',
  async run(ctx) {
    if (!ctx.features.transactionalInbox) {
      skipCase(
        'the pair declares transactionalInbox: false (handler writes do not roll back with the inbox)',
      );
    }
    const { reports } = await ctx.replica({ replica: 'a' });
    const { replica } = await ctx.replica({ replica: 'publisher', consume: false });
    const published = steps(ctx, ['a', 'b', 'c', 'd', 'e', 'f'], 30, (index) =>
      index % 3 === 0 ? { fail: 'first-attempt' as const } : {},
    );
    await replica.publish(published);
    await waitForAll(ctx, published);
    await sleep(ctx.quietMs);
    const effects = await ctx.effects();
    expectExactlyOnce(effects, published);
    const failedRuns = runsIn(reports).filter((run) => run.failed);
    expect(failedRuns.length, 'first attempts that failed after writing').toBeGreaterThanOrEqual(10);
    const failedIds = new Set(failedRuns.map((run) => run.eventId));
    for (const effect of effects.filter((e) => failedIds.has(e.eventId))) {
      expect(effect.attempt, 'the effect of a failed attempt committed').toBeGreaterThan(1);
    }
  },
};

const oneRetryProcessor: Scenario = {
  name: 'with a lock, only one replica runs the inbox retry processor',
  async run(ctx) {
    // Every failure becomes a stored retry, due together, claimed one per pass and
    // slow to run (25 ms): two processors running at once would both get some.
    const options = { localRetryTimes: 0, retryBatchSize: 1, failedRetryInterval: 500 };
    const a = await ctx.replica({ replica: 'a', lock: true, options });
    const b = await ctx.replica({ replica: 'b', lock: true, options });
    const published = steps(ctx, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], 24, () => ({
      fail: 'first-attempt' as const,
      delayMs: 25,
    }));
    await a.replica.publish(published.slice(0, 12));
    await b.replica.publish(published.slice(12));
    // Without a transactional inbox the failed first attempts keep their writes: count the retries'.
    const retried = (effects: ScenarioEffect[]) =>
      ctx.features.transactionalInbox ? effects : effects.filter((effect) => effect.attempt > 1);
    await ctx.waitForEffects(
      (effects) =>
        new Set(retried(effects).map((effect) => `${effect.key}#${effect.seq}`)).size >= published.length,
      `every one of ${published.length} steps has the effect of its retry`,
      ctx.timeoutMs * 2,
    );
    await sleep(ctx.quietMs);
    // With localRetryTimes 0, every attempt after the first is a stored retry: the processor's work.
    const retriedBy = new Set(
      [...runsIn(a.reports), ...runsIn(b.reports)].filter((run) => run.attempt > 1).map((run) => run.replica),
    );
    expect([...retriedBy], 'replicas whose retry processor ran').toHaveLength(1);
    expectExactlyOnce(retried(await ctx.effects()), published);
  },
};

/** Every bus scenario, in the order the suite registers them. */
export const busScenarios: readonly ConformanceCase<BusScenarioContext>[] = [
  commitAndRollback,
  unitOfWork,
  relayCrash,
  consumerCrash,
  twoRelays,
  brokerRestart,
  poison,
  foreignMessages,
  protoPayload,
  perKeyOrder,
  txEffects,
  oneRetryProcessor,
];
