import { ConfigurationError } from './errors.js';

/**
 * Turns a domain event into zero or more integration events
 * (NetCorePal's `IIntegrationEventConverter`).
 */
export type DomainEventConverter<D> = (domainEvent: D) => object | readonly object[] | null | undefined;

/** Converters by domain event class. */
export class ConverterRegistry {
  readonly #converters = new Map<Function, DomainEventConverter<any>[]>();

  register<D extends object>(
    domainType: new (...args: any[]) => D,
    converter: DomainEventConverter<D>,
  ): void {
    if (typeof domainType !== 'function')
      throw new ConfigurationError('convert() needs a domain event class');
    if (typeof converter !== 'function') throw new ConfigurationError('convert() needs a converter function');
    const list = this.#converters.get(domainType) ?? [];
    list.push(converter);
    this.#converters.set(domainType, list);
  }

  /** Integration events for a domain event: converters of its class and of its base classes. */
  convert(domainEvent: object): object[] {
    const results: object[] = [];
    for (
      let proto = Object.getPrototypeOf(domainEvent);
      proto && proto !== Object.prototype;
      proto = Object.getPrototypeOf(proto)
    ) {
      for (const converter of this.#converters.get(proto.constructor) ?? []) {
        const converted = converter(domainEvent);
        if (converted == null) continue;
        if (Array.isArray(converted)) results.push(...converted);
        else results.push(converted as object);
      }
    }
    return results;
  }
}
