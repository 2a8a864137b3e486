/**
 * Reports: a list of check results, and a plain-text table for terminals — one line per check with ✓, ✗
 * or –, its id, and why it failed or was skipped — ending in a one-line tally.
 */
import type { CheckResult, ConformanceReport } from './types.ts';

export function makeReport(subject: string, results: readonly CheckResult[]): ConformanceReport {
  return { subject, results, ok: results.every((result) => result.status !== 'fail') };
}

const MARK = { pass: '✓', fail: '✗', skip: '–' } as const;

export function formatReport(report: ConformanceReport): string {
  const width = Math.max(...report.results.map((result) => result.id.length), 5);
  const lines = [`conformance: ${report.subject}`];
  for (const result of report.results) {
    const seconds = `${(result.durationMs / 1000).toFixed(1)}s`.padStart(6);
    lines.push(`  ${MARK[result.status]} ${result.id.padEnd(width)} ${seconds}  ${result.title}`);
    if (result.message !== '') lines.push(`  ${' '.repeat(width + 11)}${result.status === 'pass' ? '' : `${result.status}: `}${result.message}`);
  }
  const count = (status: CheckResult['status']) => report.results.filter((result) => result.status === status).length;
  lines.push(`${report.ok ? '✓' : '✗'} ${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped`);
  return lines.join('\n');
}
