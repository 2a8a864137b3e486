/**
 * The conformance child process: runs the engine from the sequence source into one destination, with a
 * file state store, reporting writes, committed states and the end as JSON lines on stdout — so that the
 * parent can kill it mid-write and start it again from the state it saved.
 */
import { readFile } from 'node:fs/promises';
import { FileBulkJobStore } from '../../engine/bulk-jobs.ts';
import { MemoryLedger } from '../../engine/ledger.ts';
import { runActivation } from '../../engine/run.ts';
import { FileStateStore } from '../../engine/state-store.ts';
import type { DestinationDefinition } from '../../sdk/destination.ts';
import { parseConfig } from '../../sdk/spec.ts';
import { observeWrites } from '../conformance/target.ts';
import { lastIdOf, sequenceSource } from '../sequence-source.ts';
import type { ChildEvent, ChildJob } from './job.ts';

function emit(event: ChildEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

const job = JSON.parse(await readFile(process.argv[2]!, 'utf8')) as ChildJob;
const definition = ((await import(job.module)) as { default: DestinationDefinition }).default;
const parsed = parseConfig(definition.spec, job.config);
if (!parsed.ok) {
  emit({ event: 'done', status: 'failed', delivered: 0, error: `config refused: ${parsed.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}` });
} else {
  const summary = await runActivation({
    activation: {
      name: 'conformance',
      source: { definition: sequenceSource(job), config: {} },
      destination: {
        definition: observeWrites(definition, job.object, {
          before: (records) => emit({ event: 'write', records: records.length }),
          beforeUpload: (file) => emit({ event: 'write', records: file.rows }),
        }),
        config: parsed.value,
        object: job.object,
      },
      syncMode: job.syncMode,
      retry: { baseDelayMs: 20, maxDelayMs: 500, maxElapsedMs: 30_000 },
    },
    stateStore: new FileStateStore(job.statePath),
    // Bulk objects: files and jobs next to the state, so the second run resumes the first one's jobs.
    bulk: { dir: `${job.statePath}.bulk`, jobs: new FileBulkJobStore(`${job.statePath}.bulk-jobs.json`), pollInitialMs: 50, pollMaxMs: 1000 },
    ledger: new MemoryLedger(),
    onStateCommitted: (state) => emit({ event: 'state', last_id: lastIdOf(state) }),
  });
  emit({ event: 'done', status: summary.status, delivered: summary.counters.delivered, ...(summary.error === undefined ? {} : { error: summary.error }) });
}
