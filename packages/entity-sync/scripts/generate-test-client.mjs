#!/usr/bin/env node
// Generates the Prisma clients the tests use into test/generated/<provider>. The PostgreSQL schema is
// @herald/outbox-prisma's fragment (the outbox the entity events go to), this package's own
// fragment (the version ledger of prismaEntityStore) and the test models: a catalog Product
// with a version column, a composite-key ProductTag, a Category, and the ordering service's
// OrderProduct copy; the SQLite and MySQL ones have only the copy and the ledger. Skips a client whose inputs
// have not changed. PRISMA_SCHEMA_ENGINE_BINARY=/bin/false
// keeps the CLI from downloading a schema engine that `generate` does not need.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  generatePrismaClient,
  readFragment,
  schemaHeader,
} from '../../../tooling/prisma/generate-client.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const testModels = `
/// Catalog service: the source entity (table created by the tests).
model Product {
  id         String       @id
  name       String
  price      Int
  version    Int          @default(1)
  categoryId String?      @map("category_id")
  category   Category?    @relation(fields: [categoryId], references: [id])
  tags       ProductTag[]

  @@map("products")
}

/// Groups products (only here to test writes nested two levels deep).
model Category {
  id       String    @id
  name     String
  products Product[]

  @@map("categories")
}

/// A composite-key entity of the catalog.
model ProductTag {
  productId String @map("product_id")
  tag       String
  version   Int    @default(1)
  product   Product @relation(fields: [productId], references: [id], onDelete: Cascade)

  @@id([productId, tag])
  @@map("product_tags")
}

/// A catalog entity that is never selected for events.
model Supplier {
  id   String @id
  name String

  @@map("suppliers")
}

/// Ordering service: the local copy kept by the synchronizer.
model OrderProduct {
  id    String @id
  name  String
  price Int

  @@map("order_products")
}
`;

/** The ordering side only: the copy table and the ledger (SQLite and MariaDB tests of prismaEntityStore). */
const copyModel = `
model OrderProduct {
  id    String @id
  name  String
  price Int

  @@map("order_products")
}
`;

const header = (provider) =>
  schemaHeader({ provider, generatedBy: 'scripts/generate-test-client.mjs', partialIndexes: true });

const schemas = {
  postgresql: `${header('postgresql')}${testModels}
${readFileSync(join(root, 'prisma', 'postgresql.prisma'), 'utf8')}
${readFragment(import.meta.url, '@herald/outbox-prisma', 'prisma/postgresql.prisma')}`,
  sqlite: `${header('sqlite')}${copyModel}
${readFileSync(join(root, 'prisma', 'sqlite.prisma'), 'utf8')}`,
  mysql: `${header('mysql')}${copyModel}
${readFileSync(join(root, 'prisma', 'mysql.prisma'), 'utf8')}`,
};

for (const [provider, schema] of Object.entries(schemas)) {
  generatePrismaClient({
    from: import.meta.url,
    schema,
    dir: join(root, 'test', 'generated', provider),
    label: `${provider} test`,
  });
}
