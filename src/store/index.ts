/**
 * Opening the store: the embedded PGlite database under SLUICE_HOME, or PostgreSQL when DATABASE_URL is
 * set, migrated to the current schema before anything else touches it.
 */
import { type Database, openDatabase } from './db.ts';
import { migrate } from './migrations.ts';

export interface StoreOptions {
  readonly databaseUrl?: string;
  readonly home?: string;
}

export function storeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): StoreOptions {
  return {
    ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
    home: env.SLUICE_HOME ?? '.sluice',
  };
}

export async function openStore(options: StoreOptions): Promise<Database> {
  const db = await openDatabase(options);
  try {
    await migrate(db);
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}
