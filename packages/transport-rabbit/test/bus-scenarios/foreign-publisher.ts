import type { ForeignMessage } from '@herald/testkit/bus-pair';
import { connect } from 'amqplib';
import { rabbitUrl } from '../helpers.js';

/**
 * Publishes like a non-Herald service: plain amqplib, routing key = the event
 * name, only the given headers in the AMQP header table, no message properties.
 */
export async function publishForeign(exchange: string, message: ForeignMessage): Promise<void> {
  const model = await connect(rabbitUrl);
  try {
    const channel = await model.createConfirmChannel();
    channel.publish(exchange, message.routeAs, Buffer.from(message.body), {
      headers: message.headers,
      persistent: true,
    });
    await channel.waitForConfirms();
    await channel.close();
  } finally {
    await model.close();
  }
}
