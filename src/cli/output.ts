/**
 * How the CLI talks to people: config problems one per line with their JSON path, run summaries in one
 * readable block, errors as `error: CODE: message` — never a stack trace.
 */
import { formatDrift } from '../engine/drift.ts';
import type { RunSummary } from '../engine/types.ts';
import type { ConfigIssue } from '../sdk/spec.ts';
import { describeError } from '../sdk/errors.ts';
import { stringifyJson } from '../protocol/json.ts';

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: Output = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

const number = new Intl.NumberFormat('en-US');

export function printIssues(output: Output, file: string, issues: readonly ConfigIssue[]): void {
  output.err(`✗ ${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}`);
  for (const issue of issues) output.err(`  ${issue.path}: ${issue.message}`);
}

export function printError(output: Output, error: unknown): void {
  output.err(`error: ${describeError(error)}`);
}

export function formatSummary(summary: RunSummary, paths: { state?: string; ledger?: string } = {}): string {
  const { counters } = summary;
  const mark = summary.status === 'succeeded' ? '✔' : summary.status === 'interrupted' ? '■' : '✗';
  const seconds = (summary.durationMs / 1000).toFixed(1);
  // Unchanged and deleted appear once a diff mode has counted any.
  const diffCounts =
    counters.unchanged > 0 || counters.deleted > 0 ? `unchanged ${number.format(counters.unchanged)} · deleted ${number.format(counters.deleted)} · ` : '';
  const lines = [
    `${mark} ${summary.activation} ${summary.dryRun ? 'dry run ' : ''}${summary.status} in ${seconds}s — read ${number.format(counters.read)} · ` +
      `delivered ${number.format(counters.delivered)} · ${diffCounts}rejected ${number.format(counters.rejected)} · retried ${number.format(counters.retried)} · ` +
      `${number.format(summary.recordsPerSecond)} records/s`,
  ];
  if (summary.unsettled > 0) lines.push(`  unsettled: ${number.format(summary.unsettled)} records (state was not advanced past them; the next run sends them again)`);
  if (summary.error !== undefined) lines.push(`  error: ${summary.error}`);
  if (summary.drift !== undefined) lines.push(`  schema changed: ${formatDrift(summary.drift)}`);
  if (summary.plan !== undefined) {
    const plan = summary.plan;
    lines.push(`  plan: ${number.format(plan.records)} records to ${plan.object} (${plan.syncMode}) in ${number.format(plan.batches)} batches`);
    if (plan.syncMode === 'append' || plan.syncMode === 'overwrite') {
      plan.samples.forEach((sample, index) => lines.push(`  sample ${index + 1}: ${stringifyJson(sample)}`));
    } else {
      lines.push(
        `  changes: ${number.format(plan.creates)} creates · ${number.format(plan.updates)} updates · ${number.format(plan.deletes)} deletes · ${number.format(plan.unchanged)} unchanged`,
      );
      const kinds = [
        ['create', plan.samplesByKind.creates],
        ['update', plan.samplesByKind.updates],
        ['delete', plan.samplesByKind.deletes],
      ] as const;
      for (const [kind, samples] of kinds) samples.forEach((sample, index) => lines.push(`  ${kind} ${index + 1}: ${stringifyJson(sample)}`));
    }
  }
  if (counters.rejected > 0 && paths.ledger !== undefined) lines.push(`  rejects: ${paths.ledger}`);
  if (!summary.dryRun && paths.state !== undefined && summary.state !== undefined) lines.push(`  state: ${paths.state}`);
  return lines.join('\n');
}
