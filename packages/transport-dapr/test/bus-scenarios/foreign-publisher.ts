import { CommunicationProtocolEnum, DaprClient } from '@dapr/dapr';
import type { ForeignMessage } from '@herald/testkit/bus-pair';
import { CloudEventExtensions } from '../../src/native-mapping.js';

/**
 * Publishes like a non-Herald Dapr service: a plain `@dapr/dapr` client on the
 * given sidecar, one CloudEvent with the body as `data_base64` (bytes kept as
 * they are) and the given headers, if any, as the one extension a Herald
 * publisher would set — nothing else Herald writes.
 */
export async function publishForeign(
  daprGrpcPort: number,
  pubsubName: string,
  topic: string,
  message: ForeignMessage,
): Promise<void> {
  const client = new DaprClient({
    daprHost: '127.0.0.1',
    daprPort: String(daprGrpcPort),
    communicationProtocol: CommunicationProtocolEnum.GRPC,
    logger: { level: 0 },
  });
  try {
    const event: Record<string, string> = {
      specversion: '1.0',
      id: crypto.randomUUID(),
      source: 'plain-dapr-client',
      type: message.routeAs,
      datacontenttype: 'application/json',
      data_base64: Buffer.from(message.body).toString('base64'),
    };
    if (Object.keys(message.headers).length > 0) {
      event[CloudEventExtensions.headers] = JSON.stringify(message.headers);
    }
    const result = await client.pubsub.publish(pubsubName, topic, event, {
      contentType: 'application/cloudevents+json',
    });
    if (result.error) throw result.error;
  } finally {
    await client.stop();
  }
}
