/**
 * Benchmark input: a CSV of N orders (`id,email,name,amount,country,created_at`) in bench/.data/orders-<N>.csv
 * (gitignored). Generation streams in chunks with backpressure, so memory stays flat at any N, and the
 * content is a pure function of the row number, so every run and machine reads the same bytes. A finished
 * file is cached: a sidecar `.json` records its row count, size and generator version, and the CSV is only
 * written again when one of them does not match. A partly written file never looks finished (temp + rename).
 *
 * A `variant` other than 0 (`orders-<N>-v<k>.csv`) has the same ids with every row changed: the amount raised
 * by k and the country moved k places on — the "all rows change" input of the postgres-upsert benchmark.
 *
 * Standalone: `node --import tsx bench/data.ts 1000000 [variant]` prints the path.
 */
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMain } from './lib/entry.ts';

export const DATA_DIR = fileURLToPath(new URL('./.data/', import.meta.url));

/** Bump when the generated content changes, so cached files are rebuilt. */
const GENERATOR_VERSION = 1;
const ROWS_PER_CHUNK = 10_000;
export const CSV_COLUMNS = ['id', 'email', 'name', 'amount', 'country', 'created_at'] as const;

const FIRST_NAMES = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Ken', 'Frances', 'Dennis', 'Radia', 'Tim', 'Hedy', 'Linus', 'Katherine', 'John'];
const LAST_NAMES = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Thompson', 'Allen', 'Ritchie', 'Perlman', 'Berners-Lee', 'Lamarr', 'Torvalds', 'Johnson', 'McCarthy'];
const COUNTRIES = ['US', 'FR', 'DE', 'GB', 'JP', 'BR', 'IN', 'CA', 'ES', 'IT', 'NL', 'SE', 'PL', 'MX', 'AU', 'KR'];
const START_MS = Date.UTC(2024, 0, 1);

export interface CsvFile {
  readonly path: string;
  readonly rows: number;
  readonly bytes: number;
}

interface Meta {
  readonly version: number;
  readonly rows: number;
  readonly bytes: number;
}

/** A 32-bit integer hash of the row number (deterministic pseudo-random fields). */
function hash(n: number): number {
  let x = Math.imul(n ^ 0x9e3779b9, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The fields of order `id` (1-based), as text; `name` is "Last, First" for about one order in 64. */
export function orderFields(id: number): { id: number; email: string; name: string; amount: string; country: string; created_at: string } {
  const h = hash(id);
  const first = FIRST_NAMES[h & 15]!;
  const last = LAST_NAMES[(h >>> 4) & 15]!;
  return {
    id,
    email: `${first.toLowerCase()}.${last.toLowerCase()}${id}@example.com`,
    name: (h >>> 8) % 64 === 0 ? `${last}, ${first}` : `${first} ${last}`,
    amount: (((h >>> 10) % 100_000) / 100).toFixed(2),
    country: COUNTRIES[(h >>> 20) & 15]!,
    created_at: new Date(START_MS + id * 31_000 + (h % 1000)).toISOString(),
  };
}

/** One CSV line for row `id` (1-based). About one name in 64 needs quoting, as real exports do. */
export function orderLine(id: number, variant = 0): string {
  const o = orderFields(id);
  const name = o.name.includes(',') ? `"${o.name}"` : o.name;
  if (variant === 0) return `${id},${o.email},${name},${o.amount},${o.country},${o.created_at}\n`;
  const amount = (Number(o.amount) + variant).toFixed(2);
  const country = COUNTRIES[(COUNTRIES.indexOf(o.country) + variant) % COUNTRIES.length]!;
  return `${id},${o.email},${name},${amount},${country},${o.created_at}\n`;
}

export function csvPath(rows: number, variant = 0): string {
  return join(DATA_DIR, variant === 0 ? `orders-${rows}.csv` : `orders-${rows}-v${variant}.csv`);
}

function readMeta(path: string): Meta | undefined {
  try {
    return JSON.parse(readFileSync(`${path}.json`, 'utf8')) as Meta;
  } catch {
    return undefined;
  }
}

/** The CSV of `rows` orders, generated (streamed) unless a matching one is cached. */
export async function ensureOrdersCsv(rows: number, log: (message: string) => void = () => {}, variant = 0): Promise<CsvFile> {
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`row count must be a positive integer, got ${rows}`);
  if (!Number.isInteger(variant) || variant < 0) throw new Error(`variant must be a non-negative integer, got ${variant}`);
  const path = csvPath(rows, variant);
  const meta = readMeta(path);
  if (meta !== undefined && meta.version === GENERATOR_VERSION && meta.rows === rows && existsSync(path) && statSync(path).size === meta.bytes) {
    return { path, rows, bytes: meta.bytes };
  }
  mkdirSync(DATA_DIR, { recursive: true });
  log(`generating ${path} (${rows} rows)…`);
  const temp = `${path}.${process.pid}.tmp`;
  const out = createWriteStream(temp);
  let bytes = 0;
  const write = async (text: string): Promise<void> => {
    bytes += Buffer.byteLength(text);
    if (!out.write(text)) await once(out, 'drain');
  };
  await write(`${CSV_COLUMNS.join(',')}\n`);
  for (let start = 1; start <= rows; start += ROWS_PER_CHUNK) {
    const end = Math.min(rows, start + ROWS_PER_CHUNK - 1);
    let chunk = '';
    for (let id = start; id <= end; id++) chunk += orderLine(id, variant);
    await write(chunk);
  }
  out.end();
  await once(out, 'finish');
  renameSync(temp, path);
  writeFileSync(`${path}.json`, `${JSON.stringify({ version: GENERATOR_VERSION, rows, bytes } satisfies Meta)}\n`);
  return { path, rows, bytes };
}

if (isMain(import.meta.url)) {
  const rows = Number(process.argv[2] ?? 1_000_000);
  ensureOrdersCsv(rows, (message) => process.stderr.write(`${message}\n`), Number(process.argv[3] ?? 0))
    .then((file) => process.stdout.write(`${file.path}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
}
