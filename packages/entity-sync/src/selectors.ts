/** Decides whether changes of an entity type publish events (ABP's AutoEventSelectors). */
export type EntitySelector = (entityType: string) => boolean;

/** Ready-made selectors; several can be combined: an entity is selected when any matches. */
export const EntitySelectors = {
  /** Every entity. */
  all: (): EntitySelector => () => true,
  /** One entity type (e.g. a Prisma model name). */
  model:
    (name: string): EntitySelector =>
    (entityType) =>
      entityType === name,
  /** All entity types under a dotted prefix (ABP's namespace selector): `catalog` matches `catalog.Product`. */
  prefix:
    (prefix: string): EntitySelector =>
    (entityType) =>
      entityType === prefix || entityType.startsWith(prefix.endsWith('.') ? prefix : `${prefix}.`),
  /** A custom predicate. */
  where: (predicate: (entityType: string) => boolean): EntitySelector => predicate,
} as const;

/** True when any selector accepts the entity type. */
export function isSelected(selectors: readonly EntitySelector[], entityType: string): boolean {
  return selectors.some((selector) => selector(entityType));
}
