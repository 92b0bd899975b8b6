import type { RunOptions, UnitOfWorkManager } from './manager.js';

/**
 * A wrapper that runs a function in a unit of work; see {@link withUnitOfWork}.
 * It also works as a standard (TC39) method decorator.
 */
export type UnitOfWorkWrapper = <This, Args extends unknown[], R>(
  fn: (this: This, ...args: Args) => R,
  context?: ClassMethodDecoratorContext<This>,
) => (this: This, ...args: Args) => Promise<Awaited<R>>;

/**
 * Makes a reusable "transactional" wrapper (ABP's `[UnitOfWork]` attribute):
 * every call of a wrapped function runs in `manager.run(…, options)`, joining
 * the ambient unit of work if there is one. Arguments and `this` pass
 * through; the result becomes a promise.
 *
 * ```ts
 * const transactional = withUnitOfWork(uow);
 * export const placeOrder = transactional(async (input: PlaceOrder) => {
 *   await uow.requireCurrent().tx.order.create({ data: input });
 *   await bus.publish(new OrderPlaced({ orderId: input.id }));
 * });
 *
 * class OrderService {
 *   @transactional            // standard decorators (TypeScript ≥ 5)
 *   async cancel(id: string) { … }
 * }
 * ```
 */
export function withUnitOfWork<Tx>(
  manager: UnitOfWorkManager<Tx>,
  options?: RunOptions<Tx>,
): UnitOfWorkWrapper {
  return <This, Args extends unknown[], R>(fn: (this: This, ...args: Args) => R) => {
    if (typeof fn !== 'function') throw new TypeError('withUnitOfWork(…)(fn) expects a function');
    const wrapped = function (this: This, ...args: Args): Promise<Awaited<R>> {
      return manager.run(() => fn.apply(this, args), options) as Promise<Awaited<R>>;
    };
    Object.defineProperty(wrapped, 'name', { value: fn.name, configurable: true });
    return wrapped;
  };
}
