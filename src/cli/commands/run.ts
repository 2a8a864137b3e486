/**
 * `sluice run <config> [--activation NAME] [--dry-run] [--force] [--state FILE] [--json]`: run activations one
 * after another. State, fingerprints (what was last delivered, for the diff sync modes) and the ledger of
 * rejects live under `$SLUICE_HOME/state/` (default `./.sluice`), or next to `--state FILE` — as do a bulk
 * object's files (`<activation>.bulk/`) and jobs in progress (`<activation>.bulk-jobs.json`). The first SIGINT stops reading, drains in-flight batches and saves state (exit 130);
 * a second one exits at once.
 */
import { join } from 'node:path';
import { readConfigFile } from '../../config/load.ts';
import { resolveConfig } from '../../config/resolve.ts';
import { FileBulkJobStore } from '../../engine/bulk-jobs.ts';
import { FileFingerprintStore } from '../../engine/fingerprints.ts';
import { JsonlLedger } from '../../engine/ledger.ts';
import { runActivation } from '../../engine/run.ts';
import { FileStateStore } from '../../engine/state-store.ts';
import type { RunSummary } from '../../engine/types.ts';
import { stringifyJson } from '../../protocol/json.ts';
import { createLogger } from '../logger.ts';
import { EXIT, type Output, formatSummary, printError, printIssues } from '../output.ts';
import { createProgress } from '../progress.ts';

export interface RunCommandOptions {
  readonly activation?: string;
  readonly dryRun?: boolean;
  /** Run even over max_change_ratio, and accept a changed source schema under on_schema_change: fail. */
  readonly force?: boolean;
  readonly state?: string;
  readonly json?: boolean;
  readonly logLevel?: string;
}

export function sluiceHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.SLUICE_HOME ?? '.sluice';
}

export function ledgerPathFor(statePath: string): string {
  return `${statePath.replace(/\.json$/, '')}.rejects.jsonl`;
}

export function fingerprintsPathFor(statePath: string): string {
  return `${statePath.replace(/\.json$/, '')}.fingerprints`;
}

/** Bulk objects: the files of a run, under `<state>.bulk/<run id>/`. */
export function bulkDirFor(statePath: string): string {
  return `${statePath.replace(/\.json$/, '')}.bulk`;
}

/** Bulk objects: the jobs in progress, so a run killed mid-job is finished by the next one. */
export function bulkJobsPathFor(statePath: string): string {
  return `${statePath.replace(/\.json$/, '')}.bulk-jobs.json`;
}

export async function runCommand(file: string, options: RunCommandOptions, output: Output): Promise<number> {
  let resolved;
  try {
    resolved = await resolveConfig(await readConfigFile(file));
  } catch (error) {
    printError(output, error);
    return EXIT.usage;
  }
  if (resolved.issues.length > 0) {
    printIssues(output, file, resolved.issues);
    return EXIT.usage;
  }
  let activations = resolved.activations;
  if (options.activation !== undefined) {
    activations = activations.filter((activation) => activation.name === options.activation);
    if (activations.length === 0) {
      output.err(`error: no activation named "${options.activation}" in ${file} (have: ${resolved.activations.map((a) => a.name).join(', ')})`);
      return EXIT.usage;
    }
  }
  if (activations.length === 0) {
    output.err(`error: ${file} defines no activations`);
    return EXIT.usage;
  }
  if (options.state !== undefined && activations.length > 1) {
    output.err('error: --state names one state file; choose one activation with --activation');
    return EXIT.usage;
  }

  const interactive = process.stderr.isTTY === true && !options.json;
  const logger = createLogger(options.logLevel, interactive);
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.interrupted);
    output.err('\ninterrupted: draining in-flight batches and saving state (Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const summaries: RunSummary[] = [];
  try {
    for (const activation of activations) {
      if (controller.signal.aborted) break;
      const statePath = options.state ?? join(sluiceHome(), 'state', `${activation.name}.json`);
      const ledgerPath = ledgerPathFor(statePath);
      const progress = createProgress(activation.name, interactive);
      const summary = await runActivation({
        activation,
        stateStore: new FileStateStore(statePath),
        fingerprints: new FileFingerprintStore(fingerprintsPathFor(statePath)),
        ledger: new JsonlLedger(ledgerPath),
        bulk: { dir: bulkDirFor(statePath), jobs: new FileBulkJobStore(bulkJobsPathFor(statePath)) },
        dryRun: options.dryRun ?? false,
        force: options.force ?? false,
        logger,
        signal: controller.signal,
        onProgress: (counters) => progress.update(counters),
      });
      progress.stop();
      summaries.push(summary);
      if (!options.json) output.err(formatSummary(summary, { state: statePath, ledger: ledgerPath }));
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (options.json) output.out(stringifyJson(summaries));
  if (summaries.some((summary) => summary.status === 'failed')) return EXIT.failed;
  if (controller.signal.aborted) return EXIT.interrupted;
  return EXIT.ok;
}
