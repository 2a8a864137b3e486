/**
 * Benchmark `postgres-upsert` (issue #5): upserting N orders (BENCH_PG_ROWS, default 1M; the CSV of
 * bench/data.ts: `id,email,name,amount,country,created_at`) into a PostgreSQL table on the local server, in a
 * fresh database `sluice_bench_pg_upsert` (dropped afterwards), in two phases:
 *
 * - `insert`: into an empty table (every row new);
 * - `update`: the same ids again from a second CSV in which every row changed (amount and country), so every
 *   row is updated.
 *
 * **Sluice**: the compiled CLI, `sluice run` with the file source (`types: { id: integer, amount: number }`)
 * and the postgres destination (default `batch_size` 10,000: COPY into a staging table, then
 * `insert … on conflict do update`, per batch), `sync_mode: upsert`, `primary_key: id`; the update phase is
 * the second run of the same activation (its fingerprints kept: every row is found changed and sent).
 * **Floor**: bench/postgres-upsert-floor.ts — one COPY of the whole file into a temporary staging table and one
 * `INSERT … SELECT … ON CONFLICT (id) DO UPDATE`, in one transaction. Both write to a table created the same
 * way beforehand (`bigint` primary key, `text`, `numeric(12,2)`, `timestamptz`; autovacuum off, so it does
 * not wake up in the middle of a run), after a CHECKPOINT. After each round, the two tables must hold exactly
 * the same rows, N of them, with the update phase's values.
 *
 * Reported: median rows/s per phase (rows ÷ time inside each process), Sluice ÷ floor, peak RSS, CPU µs per
 * row. Target: Sluice ≥ 50k rows/s in both phases.
 *
 * Standalone (prints the figures, leaves BENCHMARKS.md alone): `node --import tsx bench/postgres-upsert.ts`
 * (env: BENCH_PG_ROWS, BENCH_REPEATS, BENCH_QUIET_WAIT, BENCH_DATABASE_URL).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA_DIR, ensureOrdersCsv, orderLine } from './data.ts';
import { isMain } from './lib/entry.ts';
import { type MachineInfo, describeMachine, machineInfo } from './lib/machine.ts';
import { describeExit, runMeasured, tail } from './lib/measure.ts';
import {
  type Failure,
  type Measured,
  cpuPerRow,
  describeFailure,
  describeMeasured,
  errorText,
  failuresMarkdown,
  loadAverage,
  loadNote,
  sluiceBuild,
  quietBefore,
  rowsPerSecond,
  runSluiceChecked,
  verdict,
} from './lib/pg-runs.ts';
import { benchPgRows, checkpoint, dropDatabase, recreateDatabase, withClient } from './lib/postgres.ts';
import { formatInt, formatKbAsMb, formatRatio, markdownTable, median, textTable } from './lib/stats.ts';
import type { UpsertFloorResult } from './postgres-upsert-floor.ts';

export const SECTION_ID = 'postgres-upsert';
export const RAW_RESULTS_FILE = join(DATA_DIR, 'postgres-upsert-results.json');
const DATABASE = 'sluice_bench_pg_upsert';
const FLOOR_SCRIPT = fileURLToPath(new URL('./postgres-upsert-floor.ts', import.meta.url));

export const TARGETS = { rowsPerSecond: 50_000 } as const;

type Runner = 'floor' | 'sluice';
const PHASES = ['insert', 'update'] as const;
type Phase = (typeof PHASES)[number];
/** Which CSV variant each phase loads (bench/data.ts): 0 = the orders, 1 = every row changed. */
const VARIANT: Record<Phase, number> = { insert: 0, update: 1 };

export interface PostgresUpsertResult {
  readonly machine: MachineInfo;
  readonly rows: number;
  readonly csvBytes: number;
  readonly load: { readonly start: number[]; readonly end: number[] };
  /** Which Sluice build was measured (lib/pg-runs.ts `sluiceBuild`). */
  readonly sluiceBuild?: string;
  readonly runs: Measured[];
  readonly failures: Failure[];
}

export interface PostgresUpsertOptions {
  readonly machine: MachineInfo;
  readonly rows: number;
  readonly repeats: number;
  readonly log: (message: string) => void;
  readonly quietWaitMs: number;
}

const timeoutFor = (rows: number): number => 120_000 + rows * 0.5;
const tableOf = (runner: Runner): string => `orders_${runner}`;

async function createTable(dbUrl: string, table: string): Promise<void> {
  await withClient(dbUrl, async (client) => {
    await client.query(`drop table if exists ${table}`);
    await client.query(
      `create table ${table} (id bigint primary key, email text not null, name text not null, amount numeric(12,2) not null,
        country text not null, created_at timestamptz not null) with (autovacuum_enabled = false)`,
    );
  });
}

async function measureFloor(dbUrl: string, csv: string, rows: number, phase: Phase, round: number, busy: number): Promise<Measured> {
  const result = await runMeasured({ args: [FLOOR_SCRIPT, '--db', dbUrl, '--table', tableOf('floor'), '--csv', csv], timeoutMs: timeoutFor(rows) });
  if (result.exitCode !== 0) throw new Error(`floor failed (${describeExit(result)}):\n${tail(result.stderr)}`);
  const floor = JSON.parse(result.stdout.trim().split('\n').pop() ?? '') as UpsertFloorResult;
  if (floor.records !== rows || floor.upserted !== rows) throw new Error(`floor copied ${floor.records} and upserted ${floor.upserted} rows, expected ${rows}`);
  return { runner: 'floor', phase, round, rows, durationMs: floor.durationMs, wallMs: result.wallMs, maxRssKb: result.maxRssKb, cpuMs: result.cpuMs, busyBefore: busy, sent: rows };
}

async function measureSluice(dbUrl: string, csv: string, rows: number, phase: Phase, round: number, busy: number, workDir: string): Promise<Measured> {
  const config = {
    sources: { orders: { type: 'file', path: csv, format: 'csv', types: { id: 'integer', amount: 'number' } } },
    destinations: { warehouse: { type: 'postgres', url: dbUrl, table: tableOf('sluice') } },
    activations: [
      { name: 'orders_to_warehouse', source: { $ref: '#/sources/orders' }, destination: { $ref: '#/destinations/warehouse' }, sync_mode: 'upsert', primary_key: 'id', schedule: null },
    ],
  };
  // The same workDir for both phases: the update run diffs against the insert run's fingerprints.
  const { summary, process: child } = await runSluiceChecked({ config, workDir, timeoutMs: timeoutFor(rows) }, { read: rows, delivered: rows, unchanged: 0 });
  return { runner: 'sluice', phase, round, rows, durationMs: summary.durationMs, wallMs: child.wallMs, maxRssKb: child.maxRssKb, cpuMs: child.cpuMs, busyBefore: busy, sent: rows };
}

/** Both tables hold exactly the update phase's rows: N each, identical, and spot checks against the CSV. */
async function verifyTables(dbUrl: string, rows: number): Promise<void> {
  await withClient(dbUrl, async (client) => {
    for (const runner of ['floor', 'sluice'] as const) {
      const { rows: count } = await client.query<{ n: string }>(`select count(*) as n from ${tableOf(runner)}`);
      if (Number(count[0]?.n) !== rows) throw new Error(`${tableOf(runner)} holds ${count[0]?.n} rows, expected ${rows}`);
    }
    const { rows: diff } = await client.query<{ n: string }>(
      `select count(*) as n from orders_floor f full join orders_sluice s using (id)
       where (f.email, f.name, f.amount, f.country, f.created_at) is distinct from (s.email, s.name, s.amount, s.country, s.created_at)`,
    );
    if (Number(diff[0]?.n) !== 0) throw new Error(`orders_sluice and orders_floor differ in ${diff[0]?.n} rows`);
    for (const id of [1, rows]) {
      const [, , , amount, country] = orderLine(id, VARIANT.update).trim().split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/);
      const { rows: found } = await client.query<{ amount: string; country: string }>('select amount::text, country from orders_sluice where id = $1', [id]);
      if (found[0]?.amount !== amount || found[0]?.country !== country) {
        throw new Error(`orders_sluice row ${id} is ${JSON.stringify(found[0])}, expected amount ${amount} and country ${country} (the update phase's values)`);
      }
    }
  });
}

export async function runPostgresUpsertBench(options: PostgresUpsertOptions): Promise<PostgresUpsertResult> {
  const { rows, log } = options;
  const start = loadAverage();
  const runs: Measured[] = [];
  const failures: Failure[] = [];
  let csvBytes = Number.NaN;
  mkdirSync(DATA_DIR, { recursive: true });
  const scratch = mkdtempSync(join(DATA_DIR, 'postgres-upsert-'));
  try {
    const csv = { insert: await ensureOrdersCsv(rows, log, VARIANT.insert), update: await ensureOrdersCsv(rows, log, VARIANT.update) };
    csvBytes = csv.insert.bytes;
    const dbUrl = await recreateDatabase(DATABASE);
    try {
      for (let round = 0; round < options.repeats; round++) {
        const order: Runner[] = round % 2 === 0 ? ['floor', 'sluice'] : ['sluice', 'floor'];
        let complete = true;
        for (const runner of order) {
          await createTable(dbUrl, tableOf(runner));
          const workDir = join(scratch, `round-${round}`);
          for (const phase of PHASES) {
            try {
              await checkpoint(dbUrl);
              const busy = await quietBefore(options.quietWaitMs, log);
              const file = csv[phase].path;
              const run = runner === 'floor' ? await measureFloor(dbUrl, file, rows, phase, round, busy) : await measureSluice(dbUrl, file, rows, phase, round, busy, workDir);
              runs.push(run);
              log(`postgres-upsert: ${describeMeasured(run)}`);
            } catch (error) {
              complete = false;
              failures.push({ runner, phase, round, error: errorText(error) });
              log(`postgres-upsert: ${runner} ${phase} #${round + 1}: FAILED: ${errorText(error)}`);
              break; // the update phase needs the inserted rows
            }
          }
        }
        if (complete) {
          try {
            await verifyTables(dbUrl, rows);
          } catch (error) {
            failures.push({ runner: 'check', phase: 'tables', round, error: errorText(error) });
            log(`postgres-upsert: round ${round + 1}: FAILED: ${errorText(error)}`);
          }
        }
      }
    } finally {
      // Not masking the error that got us here, if any.
      await dropDatabase(DATABASE).catch((error: unknown) => log(`postgres-upsert: could not drop database ${DATABASE}: ${errorText(error)}`));
    }
  } catch (error) {
    failures.push({ runner: 'setup', phase: '', round: 0, error: errorText(error) });
    log(`postgres-upsert: FAILED: ${errorText(error)}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return { machine: options.machine, rows, csvBytes, load: { start, end: loadAverage() }, sluiceBuild: sluiceBuild(), runs, failures };
}

export function failuresOf(result: PostgresUpsertResult): Failure[] {
  return result.failures;
}

interface PhaseSummary {
  readonly phase: Phase;
  readonly floorRuns: number;
  readonly sluiceRuns: number;
  readonly floorRps: number;
  readonly sluiceRps: number;
  readonly ratio: number;
  readonly floorRssKb: number;
  readonly sluiceRssKb: number;
  readonly floorCpuUs: number;
  readonly sluiceCpuUs: number;
  readonly sluiceBroken: boolean;
}

function summarize(result: PostgresUpsertResult, phase: Phase): PhaseSummary {
  const of = (runner: Runner): Measured[] => result.runs.filter((run) => run.runner === runner && run.phase === phase);
  const floor = of('floor');
  const sluice = of('sluice');
  const floorRps = median(floor.map(rowsPerSecond));
  const sluiceRps = median(sluice.map(rowsPerSecond));
  return {
    phase,
    floorRuns: floor.length,
    sluiceRuns: sluice.length,
    floorRps,
    sluiceRps,
    ratio: sluiceRps / floorRps,
    floorRssKb: median(floor.map((run) => run.maxRssKb)),
    sluiceRssKb: median(sluice.map((run) => run.maxRssKb)),
    floorCpuUs: median(floor.map(cpuPerRow)),
    sluiceCpuUs: median(sluice.map(cpuPerRow)),
    sluiceBroken: result.failures.some((failure) => failure.runner !== 'floor' && (failure.phase === phase || failure.phase === '' || failure.phase === 'tables')),
  };
}

const PHASE_TEXT: Record<Phase, string> = { insert: 'insert (empty table)', update: 'update (every row changed)' };
const cpu = (us: number): string => (Number.isFinite(us) ? us.toFixed(1) : 'n/a');

function tables(result: PostgresUpsertResult): { header: string[]; rows: string[][]; targetHeader: string[]; targetRows: string[][] } {
  const summaries = PHASES.map((phase) => summarize(result, phase));
  const header = ['phase', 'floor runs', 'sluice runs', 'floor rows/s', 'sluice rows/s', 'sluice / floor', 'floor peak RSS', 'sluice peak RSS', 'floor CPU µs/row', 'sluice CPU µs/row'];
  const rows = summaries.map((s) => [
    PHASE_TEXT[s.phase],
    String(s.floorRuns),
    String(s.sluiceRuns),
    formatInt(s.floorRps),
    formatInt(s.sluiceRps),
    formatRatio(s.ratio),
    formatKbAsMb(s.floorRssKb),
    formatKbAsMb(s.sluiceRssKb),
    cpu(s.floorCpuUs),
    cpu(s.sluiceCpuUs),
  ]);
  const targetHeader = ['target', ...summaries.map((s) => PHASE_TEXT[s.phase])];
  const targetRows = [[`Sluice ≥ ${formatInt(TARGETS.rowsPerSecond)} rows/s (median)`, ...summaries.map((s) => `${verdict(s.sluiceRps, s.sluiceRps >= TARGETS.rowsPerSecond, s.sluiceBroken)} (${formatInt(s.sluiceRps)})`)]];
  return { header, rows, targetHeader, targetRows };
}

export function textReport(result: PostgresUpsertResult): string {
  const t = tables(result);
  const broken = result.failures.length === 0 ? '' : `\n\nBROKEN RUNS (not in the figures):\n${result.failures.map((failure) => `- ${describeFailure(failure)}`).join('\n')}`;
  return `${textTable(t.header, t.rows)}\n\n${textTable(t.targetHeader, t.targetRows.map((row) => row.map((cell) => cell.replaceAll('**', ''))))}${broken}`;
}

export function markdownReport(result: PostgresUpsertResult): string {
  const t = tables(result);
  const perRun = result.runs.map((run) => `- ${describeMeasured(run)}`).join('\n');
  return `## File → PostgreSQL upsert (issue #5)

Machine: ${describeMachine(result.machine)}. ${loadNote(result.load, result.runs)} Sluice: ${result.sluiceBuild ?? 'the working tree'}. Reproduce with
\`BENCH_ONLY=postgres-upsert npm run bench\` (\`BENCH_PG_ROWS=100000\` for a quick try).

${formatInt(result.rows)} orders (the CSV of \`bench/data.ts\`, \`id,email,name,amount,country,created_at\`, ${Math.round(result.csvBytes / 1e6)} MB) upserted into a table
on the local PostgreSQL (same machine, default settings; a fresh database): first into the empty table (**insert**:
every row new), then from a second CSV with the same ids in which every row changed (**update**). Both sides write
to a table created the same way (\`bigint\` primary key, \`text\`, \`numeric(12,2)\`, \`timestamptz\`; autovacuum off), after
a CHECKPOINT. **Floor** (\`bench/postgres-upsert-floor.ts\`): one \`COPY … FROM STDIN (format csv)\` of the file's bytes
(pg-copy-streams; no parsing in node) into a temporary staging table, then one \`INSERT … SELECT … ON CONFLICT (id)
DO UPDATE\`, in one transaction. **Sluice**: the compiled CLI, \`sluice run\` with the file source (\`id\` and \`amount\`
typed) and the postgres destination (COPY of each batch of 10,000 into a staging table, then the merge, one
transaction per batch, the next batch loaded while one merges), \`sync_mode: upsert\`, \`primary_key: id\`; the update
run is the second run of the same activation (every row found changed by its fingerprints, and sent). Sides
alternate; after each round both tables must hold the same ${formatInt(result.rows)} rows with the update's values. rows/s = rows ÷
time inside the process (Sluice: its run summary); peak RSS and CPU are the client process's (PostgreSQL's own
work, on the same 2 cores, is in neither). Medians; the ratio is of the medians.

${markdownTable(t.header, t.rows)}
${failuresMarkdown(result.failures)}
${markdownTable(t.targetHeader, t.targetRows)}

<details><summary>Every run</summary>

${perRun}

</details>`;
}

if (isMain(import.meta.url)) {
  const log = (message: string): void => {
    process.stderr.write(`${message}\n`);
  };
  runPostgresUpsertBench({
    machine: machineInfo(),
    rows: benchPgRows(),
    repeats: Number(process.env.BENCH_REPEATS ?? '3'),
    log,
    quietWaitMs: process.env.BENCH_QUIET_WAIT === undefined ? 60_000 : Number(process.env.BENCH_QUIET_WAIT) * 1000,
  })
    .then((result) => {
      process.stdout.write(`\npostgres upsert\n\n${textReport(result)}\n`);
      if (result.failures.length > 0) process.exitCode = 1;
    })
    .catch((error: unknown) => {
      process.stderr.write(`${errorText(error)}\n`);
      process.exitCode = 1;
    });
}
