/**
 * `@herald/testkit/engines`: the engine setup that adapter tests share instead of copying it.
 *
 * Kafka topics: {@link deleteTopicsStartingWith} removes a run's topics (by their prefix) after it.
 *
 * Each test file owns its databases by name; {@link testDatabaseName} appends the namespace from
 * `HERALD_TEST_NAMESPACE`, so two checkouts (or two people) can run the same suites against the
 * same servers at once without emptying each other's tables.
 *
 * The helpers take the client as a factory instead of depending on a driver: any client with
 * Prisma's raw-query methods (a generated `PrismaClient` with its driver adapter) fits
 * {@link SqlClient}.
 */

export { deleteTopicsStartingWith, type TopicAdmin } from './kafka.js';
export { testDatabaseName, testNamespace } from './namespace.js';
export {
  emptyTables,
  mariadbServerUrl,
  mariadbTestDatabase,
  postgresServerUrl,
  postgresTestDatabase,
  postgresTestDatabaseUrl,
  type SqlClient,
  type SqlDialect,
  type TestDatabase,
} from './sql.js';
