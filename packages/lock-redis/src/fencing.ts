import { describeError } from '@herald/core';
import type { Cluster, Redis } from 'ioredis';
import { RedisLockError } from './errors.js';
import { collectQuorum } from './quorum.js';

/** An ioredis connection to one independent Redis node (or one Redis Cluster). */
export type RedisClient = Redis | Cluster;

/**
 * Phase 1, on one node, only if this lock value still holds the key there:
 * propose `max(stored counter + 1, server time in µs)`. The time term only
 * matters when the node lost its counter (restart without persistence): it
 * keeps new tokens above old ones as long as the host clock does not step back.
 */
const PROPOSE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
local now = redis.call('TIME')
local micros = tonumber(now[1]) * 1000000 + tonumber(now[2])
local candidate = tonumber(redis.call('GET', KEYS[2]) or '0') + 1
if micros > candidate then candidate = micros end
return string.format('%.0f', candidate)
`;

/**
 * Phase 2, on one node, only if this lock value still holds the key there:
 * raise the stored counter to the chosen token. 0 = not held (or a higher
 * token is already stored, which means someone else got in between).
 */
const COMMIT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local stored = tonumber(redis.call('GET', KEYS[2]) or '0')
if stored >= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1
`;

export interface FenceRequest {
  readonly clients: readonly RedisClient[];
  readonly lockKey: string;
  readonly fenceKey: string;
  /** The random value redlock stored under `lockKey` on every node that granted it. */
  readonly lockValue: string;
  /** Budget of each phase in ms. */
  readonly budgetMs: () => number;
}

/**
 * Issues the fencing token of a lock that redlock has just granted on a
 * quorum, or `null` when the lock is no longer held on a quorum.
 *
 * Why the token strictly increases from one holder to the next: holder A
 * commits its token `a` (phase 2) on a quorum QA while still holding the lock
 * on each of those nodes. A later holder B is granted the lock on a quorum
 * only after A's entries there expired or were released, then reads (phase 1)
 * on a quorum QB of nodes where it holds the lock. QA and QB are both
 * majorities of the same node set, so they share a node n; on n, A's commit
 * happened while A held the key, hence before B was granted it, hence before
 * B's read. B's proposal on n is therefore at least `a + 1`, and B's token,
 * the maximum over QB, is greater than `a`. Both phases are guarded by the
 * lock value, so a holder that was paused until its lease ran out cannot
 * raise the counter after the next holder took over.
 *
 * (Taking the maximum of per-node INCRs in one step would not be enough:
 * counters of different nodes drift apart through partial acquisitions, and a
 * later quorum may consist of nodes with smaller counters.)
 */
export async function issueFencingToken(request: FenceRequest): Promise<bigint | null> {
  const { clients, lockKey, fenceKey, lockValue } = request;
  const quorum = Math.floor(clients.length / 2) + 1;

  const proposals = await collectQuorum(
    clients.map((client) => () => client.eval(PROPOSE, 2, lockKey, fenceKey, lockValue) as Promise<unknown>),
    quorum,
    request.budgetMs(),
    (value) => typeof value === 'string',
  );
  if (proposals.agreed.length < quorum)
    return undecided(proposals.errors, 'read', proposals.agreed.length, quorum);
  let token = 0n;
  for (const { value } of proposals.agreed) {
    const proposed = BigInt(value as string);
    if (proposed > token) token = proposed;
  }

  // Every node is asked; the script refuses wherever the key is not ours.
  const commits = await collectQuorum(
    clients.map(
      (client) => () =>
        client.eval(COMMIT, 2, lockKey, fenceKey, lockValue, token.toString()) as Promise<unknown>,
    ),
    quorum,
    request.budgetMs(),
    (value) => value === 1,
  );
  if (commits.agreed.length < quorum)
    return undecided(commits.errors, 'commit', commits.agreed.length, quorum);
  return token;
}

/** Too few nodes agreed: lost to someone else (null) unless Redis errors are to blame (throw). */
function undecided(errors: readonly unknown[], phase: string, agreed: number, quorum: number): null {
  if (errors.length === 0) return null;
  throw new RedisLockError(
    `Could not ${phase} the fencing token on a quorum (${agreed} of ${quorum} needed): ${describeError(errors[0])}`,
    { cause: errors[0] },
  );
}
