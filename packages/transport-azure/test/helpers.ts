import type { TopologyProvisioner } from '../src/index.js';
import type { AmqpTestPeer } from './helpers/amqp-test-peer.js';

/** The in-process AMQP 1.0 peer that stands in for a Service Bus namespace (see the README). */
export { AmqpTestPeer } from './helpers/amqp-test-peer.js';

/**
 * Creates the transport's topics and subscriptions (with exactly the transport's correlation
 * rules) directly in the test peer, standing in for the HTTPS administration API that the
 * peer does not model. Everything else goes through the real SDK over AMQP.
 */
export function peerProvisioner(
  peer: AmqpTestPeer,
  overrides: { lockDurationMs?: number } = {},
): TopologyProvisioner {
  return {
    async ensureTopic(topic) {
      peer.createTopic(topic);
    },
    async ensureSubscription(spec) {
      peer.createSubscription(spec.topic, spec.subscription, {
        rules: spec.rules.map((rule) => ({ ...rule.filter })),
        requiresSession: spec.requiresSession,
        lockDurationMs: overrides.lockDurationMs ?? spec.lockDurationMs,
        maxDeliveryCount: spec.maxDeliveryCount,
      });
    },
  };
}
