import { defineEvent } from '@herald/core';

/** The event the ordering service publishes and the billing service handles. */
export const OrderPlaced = defineEvent<{ orderId: string; total: number }>('rabbit-e2e.order-placed');

/** The billing service's consumer group (its queue is `<exchange>.<group>`). */
export const BILLING_SERVICE = 'rabbit-e2e-billing';
export const ORDERING_SERVICE = 'rabbit-e2e-ordering';

/** Parent → service. */
export type Command =
  /** Ordering: create each order and publish its event in one transaction; `rollback` orders roll back. */
  { type: 'place'; orders: Array<{ id: string; total: number; rollback?: boolean }> } | { type: 'stop' };

/** Service → parent. */
export type Report =
  | { type: 'ready' }
  | { type: 'placed'; ids: string[] }
  | { type: 'handled'; orderId: string; eventId: string }
  /** Billing: the inbox recognised a redelivery of a message it had already handled. */
  | { type: 'duplicate'; eventId: string }
  | { type: 'error'; message: string };

/** Settings a service process reads from its environment. */
export interface ServiceSettings {
  readonly role: 'ordering' | 'billing';
  readonly databaseUrl: string;
  readonly rabbitUrl: string;
  readonly exchange: string;
  /** Names this process in the charge rows (two billing processes run one after the other). */
  readonly process: string;
}

export function serviceEnv(settings: ServiceSettings): Record<string, string> {
  return {
    E2E_ROLE: settings.role,
    E2E_DATABASE_URL: settings.databaseUrl,
    E2E_RABBIT_URL: settings.rabbitUrl,
    E2E_EXCHANGE: settings.exchange,
    E2E_PROCESS: settings.process,
  };
}

export function serviceSettings(env: NodeJS.ProcessEnv): ServiceSettings {
  const need = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  const role = need('E2E_ROLE');
  if (role !== 'ordering' && role !== 'billing')
    throw new Error(`E2E_ROLE must be ordering or billing, got ${role}`);
  return {
    role,
    databaseUrl: need('E2E_DATABASE_URL'),
    rabbitUrl: need('E2E_RABBIT_URL'),
    exchange: need('E2E_EXCHANGE'),
    process: need('E2E_PROCESS'),
  };
}
