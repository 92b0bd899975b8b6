import { describeBusScenarios } from '../src/index.js';
import memoryPair from './helpers/memory-pair.js';

// The pair core ships. Crash and broker-restart scenarios are reported as
// skipped with their reason: nothing in memory outlives a process.
describeBusScenarios({ pair: memoryPair, timeoutMs: 10_000 });
