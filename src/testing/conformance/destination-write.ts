/**
 * `destination.outcomes`: called directly, as the engine would, `write` returns exactly one well-formed
 * outcome per record for a batch of 1, a batch of a few, and the largest batch its limits allow; reasons
 * hold no secret; and — with an `inspect` hook — every record reported delivered can be read back.
 */
import { MemoryLedger } from '../../engine/ledger.ts';
import { runActivation } from '../../engine/run.ts';
import { MemoryStateStore } from '../../engine/state-store.ts';
import { stringifyJson } from '../../protocol/json.ts';
import type { JsonObject } from '../../protocol/json.ts';
import type { DestinationDefinition, OutgoingRecord } from '../../sdk/destination.ts';
import type { Outcome } from '../../sdk/outcome.ts';
import { secretValues } from '../canary.ts';
import { type Check, type CheckContext, CheckFailed, expectThat } from '../checks.ts';
import { CONFORMANCE_SCHEMA, CONFORMANCE_STREAM, sequenceSource, testRecord } from '../sequence-source.ts';
import type { DestinationConformanceOptions } from '../types.ts';
import { type Target, bulkOptionsFor, resolveTarget } from './target.ts';

/** Enough to find off-by-one and order bugs; the largest batch is capped so a check stays quick. */
const SOME = 7;
const MAX_TESTED_BATCH = 10_000;

function outgoing(ids: readonly number[], ctx: CheckContext, options: DestinationConformanceOptions, target: Target): OutgoingRecord[] {
  return ids.map((id) => {
    const data: JsonObject = testRecord(id, ctx.scope.tag, options.record);
    const invalid = target.object.fields?.safeParse(data);
    if (invalid !== undefined && !invalid.success) {
      throw new CheckFailed(`the test record does not satisfy the object's fields (${invalid.error.issues[0]?.message}); pass \`record\` with the fields it needs`);
    }
    return { stream: CONFORMANCE_STREAM, data, json: stringifyJson(data) };
  });
}

/** The batch sizes to try: 1, a few, and as many records as fit both the record and the byte limit. */
function batchSizes(target: Target, recordBytes: number): number[] {
  const byBytes = Math.max(1, Math.floor(target.batch.maxBytes / (recordBytes + 2)));
  const largest = Math.min(target.batch.maxRecords, byBytes, MAX_TESTED_BATCH);
  return [...new Set([1, Math.min(SOME, largest), largest])];
}

function problemWith(outcome: Outcome | undefined, secrets: ReadonlySet<string>): string | undefined {
  if (outcome === undefined || typeof outcome !== 'object') return 'missing';
  if (!['delivered', 'rejected', 'retry'].includes(outcome.status)) return `unknown status ${String((outcome as { status?: unknown }).status)}`;
  if (outcome.status === 'delivered') return undefined;
  if (typeof outcome.reason !== 'string' || outcome.reason.trim() === '') return `${outcome.status} without a reason`;
  for (const secret of secrets) if (outcome.reason.includes(secret)) return `its reason reveals a secret value`;
  return undefined;
}

export function writeCheck(definition: DestinationDefinition, options: DestinationConformanceOptions): Check {
  return {
    id: 'destination.outcomes',
    title: 'write returns one outcome per record, in order, for batches of 1, a few and the most allowed',
    async run(ctx) {
      const target = await resolveTarget(definition, options, ctx.scope);
      for (const secret of secretValues(definition.spec, target.raw)) ctx.secrets.add(secret);
      if (target.bulk !== undefined) return bulkOutcomes(definition, options, target, ctx);
      if (!('write' in target.object)) throw new CheckFailed('the object has no write');
      const object = target.object;
      const sample = outgoing([0], ctx, options, target)[0]!;
      const sizes = batchSizes(target, Buffer.byteLength(sample.json));
      const session = definition.open === undefined ? undefined : await definition.open(target.config as never, ctx.connector);
      const delivered: number[] = [];
      const notes: string[] = [];
      let next = 1;
      try {
        for (const [index, size] of sizes.entries()) {
          const ids = Array.from({ length: size }, () => next++);
          const records = outgoing(ids, ctx, options, target);
          const outcomes = await object.write(records, {
            ...ctx.connector,
            config: target.config,
            session,
            object: target.objectName,
            syncMode: target.syncMode,
            idempotencyKey: `${ctx.scope.tag}-${index}`,
            attempt: 1,
            stream: { name: CONFORMANCE_STREAM, jsonSchema: CONFORMANCE_SCHEMA, primaryKey: ['id'] },
          });
          expectThat(Array.isArray(outcomes), `write returned ${typeof outcomes}, not an array of outcomes`);
          expectThat(outcomes.length === size, `a batch of ${size} records got ${outcomes.length} outcomes`);
          outcomes.forEach((outcome, position) => {
            const problem = problemWith(outcome, ctx.secrets);
            expectThat(problem === undefined, `batch of ${size}, outcome ${position}: ${problem}`);
            if (outcome.status === 'delivered') delivered.push(ids[position]!);
          });
          notes.push(`${size} → ${outcomes.filter((outcome) => outcome.status === 'delivered').length} delivered`);
        }
      } finally {
        if (session !== undefined) await definition.close?.(session as never, ctx.connector, { complete: true });
      }
      if (options.inspect !== undefined) {
        const seen = new Set((await options.inspect(ctx.scope)).filter((record) => record.tag === ctx.scope.tag).map((record) => record.id));
        const missing = delivered.filter((id) => !seen.has(id));
        expectThat(missing.length === 0, `${missing.length} records reported delivered cannot be read back (ids ${missing.slice(0, 10).join(', ')})`);
      }
      return notes.join('; ');
    },
  };
}

/**
 * A bulk object has no `write` to call directly: the engine writes a few files (a file and a half, at the
 * object's row limit, capped at 2,500 rows), uploads them and maps the results back. Every record must end
 * delivered or rejected with a readable reason that holds no secret, and delivered ones must read back.
 */
async function bulkOutcomes(definition: DestinationDefinition, options: DestinationConformanceOptions, target: Target, ctx: CheckContext): Promise<string> {
  const count = Math.min(Math.ceil(target.bulk!.file.maxRows * 1.5), 2500);
  const ledger = new MemoryLedger();
  const summary = await runActivation({
    activation: {
      name: 'conformance',
      source: { definition: sequenceSource({ count, tag: ctx.scope.tag, stateEvery: count, record: options.record }), config: {} },
      destination: { definition, config: target.config, object: target.objectName },
      syncMode: target.syncMode,
      retry: { baseDelayMs: 20, maxDelayMs: 500, maxElapsedMs: 30_000 },
    },
    stateStore: new MemoryStateStore(),
    ledger,
    logger: ctx.connector.logger,
    signal: ctx.connector.signal,
    bulk: bulkOptionsFor(ctx.scope.dir),
  });
  expectThat(summary.status === 'succeeded', `the run ${summary.status}: ${summary.error ?? ''}`);
  expectThat(summary.counters.delivered + summary.counters.rejected === count, `${count} records read, ${summary.counters.delivered} delivered and ${summary.counters.rejected} rejected`);
  for (const entry of ledger.entries) {
    const problem = problemWith({ status: 'rejected', reason: entry.reason }, ctx.secrets);
    expectThat(problem === undefined, `a rejected row: ${problem}`);
  }
  const rejectedIds = new Set(ledger.entries.map((entry) => String((entry.record as { id?: unknown } | null)?.id)));
  if (options.inspect !== undefined) {
    const seen = new Set((await options.inspect(ctx.scope)).filter((record) => record.tag === ctx.scope.tag).map((record) => String(record.id)));
    const missing: number[] = [];
    for (let id = 1; id <= count; id++) if (!seen.has(String(id)) && !rejectedIds.has(String(id))) missing.push(id);
    expectThat(missing.length === 0, `${missing.length} records reported delivered cannot be read back (ids ${missing.slice(0, 10).join(', ')})`);
  }
  return `${count} records in ${summary.counters.batches} uploads → ${summary.counters.delivered} delivered, ${summary.counters.rejected} rejected`;
}
