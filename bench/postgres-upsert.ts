/**
 * Upsert rate of the postgres destination: 1M rows (BENCH_PG_ROWS) of 7 fields into a fresh database on
 * the server at SLUICE_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), which is
 * dropped afterwards.
 *
 * - `direct`: `write` called as the engine would, batches of 10,000 rows, one at a time — first into an
 *   empty table (every row inserted through `on conflict … do update`), then the same keys again (every
 *   row updated), then the same rows once more (every row found equal, none rewritten).
 *   BENCH_PG_CONCURRENCY overrides the writes in flight (default: the destination's limit, 2).
 * - `engine`: the real engine (`runActivation`) from a generated source, upsert mode (skipped with
 *   BENCH_PG_ENGINE=0).
 *
 *   node --import tsx bench/postgres-upsert.ts
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { z } from 'zod';
import postgres from '../src/connectors/destinations/postgres/index.ts';
import type { PostgresSession } from '../src/connectors/destinations/postgres/session.ts';
import type { PostgresConfig } from '../src/connectors/destinations/postgres/spec.ts';
import { stringifyJson } from '../src/protocol/json.ts';
import type { JsonObject } from '../src/protocol/json.ts';
import { defaultContext } from '../src/sdk/context.ts';
import type { OutgoingRecord, StreamingObject, WriteContext } from '../src/sdk/destination.ts';
import { defineSource } from '../src/sdk/source.ts';

const ROWS = Number(process.env.BENCH_PG_ROWS ?? 1_000_000);
const BATCH = 10_000;
const BASE_URL = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const jsonSchema: Record<string, unknown> = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    email: { type: 'string' },
    name: { type: 'string' },
    score: { type: 'number' },
    active: { type: 'boolean' },
    updated_at: { type: 'string', format: 'date-time' },
    attributes: { type: 'object' },
  },
};

function row(id: number, round: number): JsonObject {
  return {
    id,
    email: `user${id}@example.com`,
    name: `User ${id} "round ${round}"`,
    score: (id % 1000) / 10 + round,
    active: id % 3 !== 0,
    updated_at: new Date(1_700_000_000_000 + id * 1000 + round).toISOString(),
    attributes: { plan: id % 2 === 0 ? 'pro' : 'free', round },
  };
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: BASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function direct(config: PostgresConfig, round: number): Promise<number> {
  const base = defaultContext({ runId: `bench-${round}` });
  const session = await postgres.open!(config, base);
  const object = postgres.objects.records as StreamingObject<PostgresConfig, PostgresSession>;
  const started = performance.now();
  let delivered = 0;
  const batchOf = (start: number): OutgoingRecord[] => {
    const records: OutgoingRecord[] = [];
    for (let id = start; id < start + BATCH && id <= ROWS; id++) {
      const data = row(id, round);
      records.push({ stream: 'users', data, json: stringifyJson(data) });
    }
    return records;
  };
  try {
    // As the engine does: the next batch is read while others are written, with up to `concurrency`
    // writes in flight (the destination's limit).
    const limit = typeof postgres.limits === 'function' ? postgres.limits(config) : postgres.limits;
    const concurrency = Number(process.env.BENCH_PG_CONCURRENCY ?? limit?.concurrency ?? 1);
    const inFlight = new Set<Promise<void>>();
    for (let start = 1; start <= ROWS; start += BATCH) {
      const records = batchOf(start);
      while (inFlight.size >= concurrency) await Promise.race(inFlight);
      const ctx: WriteContext<PostgresConfig, PostgresSession> = {
        ...base,
        config,
        session,
        object: 'records',
        syncMode: 'upsert',
        idempotencyKey: `${round}-${start}`,
        attempt: 1,
        stream: { name: 'users', jsonSchema, primaryKey: ['id'] },
      };
      const writing: Promise<void> = object.write(records, ctx).then((outcomes) => {
        delivered += outcomes.filter((outcome) => outcome.status === 'delivered').length;
        inFlight.delete(writing);
      });
      inFlight.add(writing);
    }
    await Promise.all(inFlight);
  } finally {
    await postgres.close!(session, base, { complete: true });
  }
  const seconds = (performance.now() - started) / 1000;
  if (delivered !== ROWS) throw new Error(`delivered ${delivered} of ${ROWS}`);
  return ROWS / seconds;
}

async function engine(config: PostgresConfig): Promise<{ rate: number; delivered: number }> {
  const { runActivation } = await import('../src/engine/run.ts');
  const { MemoryStateStore } = await import('../src/engine/state-store.ts');
  const { MemoryLedger } = await import('../src/engine/ledger.ts');
  const source = defineSource({
    id: 'generated',
    title: 'Generated',
    description: 'Generated users.',
    spec: z.strictObject({}),
    check: async () => ({ ok: true }),
    discover: async () => [{ name: 'users', jsonSchema, primaryKey: [['id']], syncModes: ['full_refresh' as const] }],
    async *read() {
      for (let id = 1; id <= ROWS; id++) yield { type: 'record', stream: 'users', data: row(id, 2) };
      yield { type: 'state', state: { done: true } };
    },
  });
  const started = performance.now();
  const summary = await runActivation({
    activation: {
      name: 'bench',
      source: { definition: source, config: {} },
      destination: { definition: postgres, config },
      syncMode: 'upsert',
    },
    stateStore: new MemoryStateStore(),
    ledger: new MemoryLedger(),
  });
  const seconds = (performance.now() - started) / 1000;
  if (summary.status !== 'succeeded') throw new Error(`engine run ${summary.status}: ${summary.error ?? ''}`);
  return { rate: summary.counters.delivered / seconds, delivered: summary.counters.delivered };
}

const name = `sluice_bench_${randomBytes(5).toString('hex')}`;
await admin(`create database ${name}`);
try {
  const url = new URL(BASE_URL);
  url.pathname = `/${name}`;
  const parsed = postgres.spec.safeParse({ url: url.toString(), table: 'users', batch_size: BATCH });
  if (!parsed.success) throw parsed.error;
  const config = parsed.data;
  const fmt = (rate: number): string => `${Math.round(rate).toLocaleString('en-US')} rows/s`;
  console.log(`postgres upsert, ${ROWS.toLocaleString('en-US')} rows, batches of ${BATCH.toLocaleString('en-US')}`);
  console.log(`direct, empty table (all inserted):  ${fmt(await direct(config, 0))}`);
  console.log(`direct, same keys (all updated):     ${fmt(await direct(config, 1))}`);
  console.log(`direct, same rows again (unchanged): ${fmt(await direct(config, 1))}`);
  if (process.env.BENCH_PG_ENGINE !== '0') {
    const result = await engine(config);
    console.log(`engine, generated source (updates):  ${fmt(result.rate)} (${result.delivered} delivered)`);
  }
} finally {
  await admin(`drop database if exists ${name} with (force)`);
}
