/**
 * Activation fingerprints in the store: one row per activation holding its encoded snapshot
 * (engine/fingerprints.ts) as bytea, replaced whole at the end of each run. A snapshot of a million keys
 * is some tens of megabytes written in one statement — not a million rows.
 */
import type { FingerprintStore } from '../engine/fingerprints.ts';
import type { Queryable } from './db.ts';

export async function loadFingerprints(db: Queryable, activation: string): Promise<Buffer | undefined> {
  const { rows } = await db.query<{ snapshot: Uint8Array }>('select snapshot from sluice.fingerprints where activation = $1', [activation]);
  const snapshot = rows[0]?.snapshot;
  if (snapshot === undefined) return undefined;
  return Buffer.isBuffer(snapshot) ? snapshot : Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
}

export async function saveFingerprints(db: Queryable, activation: string, snapshot: Buffer): Promise<void> {
  await db.query(
    `insert into sluice.fingerprints (activation, snapshot, updated_at) values ($1, $2, now())
     on conflict (activation) do update set snapshot = excluded.snapshot, updated_at = excluded.updated_at`,
    [activation, snapshot],
  );
}

export async function deleteFingerprints(db: Queryable, activation: string): Promise<void> {
  await db.query('delete from sluice.fingerprints where activation = $1', [activation]);
}

/** The engine's fingerprint store for one activation. */
export class StoreFingerprintStore implements FingerprintStore {
  constructor(
    private readonly db: Queryable,
    private readonly activation: string,
  ) {}

  load(): Promise<Buffer | undefined> {
    return loadFingerprints(this.db, this.activation);
  }

  save(snapshot: Buffer): Promise<void> {
    return saveFingerprints(this.db, this.activation, snapshot);
  }
}
