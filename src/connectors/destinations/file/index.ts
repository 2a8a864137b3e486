/**
 * The `file` destination: writes records to one local file as JSON Lines or CSV, appending or overwriting.
 * Each record is delivered once its bytes reach the file; the file is fsynced when the run closes it.
 * Numbers keep every digit in both formats.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { defineDestination } from '../../../sdk/destination.ts';
import type { CheckResult } from '../../../sdk/context.ts';
import { FileSession } from './session.ts';
import { fileSpec, resolvePath } from './spec.ts';
import type { FileConfig } from './spec.ts';

/**
 * A real look at the disk: the file is writable, or — since open creates missing parent directories — the
 * nearest directory that exists above it is.
 */
async function check(config: FileConfig): Promise<CheckResult> {
  const path = resolve(resolvePath(config, 'check'));
  const found = await nearestExisting(path);
  if (found.path === path && found.isDirectory) return { ok: false, reason: `${path} is a directory, not a file` };
  if (found.path !== path && !found.isDirectory) return { ok: false, reason: `${found.path} is not a directory` };
  try {
    await access(found.path, constants.W_OK);
    return { ok: true };
  } catch {
    return { ok: false, reason: `${found.path} is not writable` };
  }
}

async function nearestExisting(path: string): Promise<{ path: string; isDirectory: boolean }> {
  for (let current = path; ; current = dirname(current)) {
    const info = await stat(current).catch(() => undefined);
    if (info !== undefined) return { path: current, isDirectory: info.isDirectory() };
    // The root always exists; this guard only stops a loop on a platform where it might not.
    if (dirname(current) === current) return { path: current, isDirectory: false };
  }
}

export default defineDestination<typeof fileSpec, FileSession>({
  id: 'file',
  title: 'File',
  description: 'Writes records to a local file as JSON Lines or CSV.',
  spec: fileSpec,
  check,
  open: async (config, ctx) => {
    const session = new FileSession(config, resolvePath(config, ctx.runId));
    await session.start();
    return session;
  },
  close: (session, _ctx, end) => session.close(end.complete),
  objects: {
    records: {
      title: 'Records',
      description: 'Every record, one line (JSONL) or one row (CSV) each, in the order they arrive.',
      // The first mode is the default when an activation names none: re-running an export must not duplicate it.
      syncModes: ['overwrite', 'append'],
      // 1,000 records (~150 KB of JSONL) per write: the engine holds at most three batches, so smaller batches
      // keep fewer records alive across garbage collections — at 10,000 a Singer target spent ~15% of its time
      // in GC (and ~100 MB more memory); at 1,000 it is ~3%, with writes still large.
      batch: { maxRecords: 1_000, maxBytes: 8_000_000, maxWaitMs: 1000 },
      write: (records, ctx) => ctx.session.write(records, ctx.syncMode),
    },
  },
  // One writer keeps the file in arrival order; the session serializes writes anyway.
  limits: { concurrency: 1 },
});
