/**
 * The suite for connectors that run as external commands and speak a protocol. One kind so far,
 * `singer-target`; Singer taps and Airbyte connectors plug in here with a check list of their own.
 */
import { type Check, runCheck } from '../checks.ts';
import { makeReport } from '../report.ts';
import type { ConformanceReport, ExternalConformanceOptions, ExternalKind } from '../types.ts';
import { singerTargetChecks } from './singer-target.ts';

export const EXTERNAL_KINDS: readonly ExternalKind[] = ['singer-target'];

export function externalChecks(options: ExternalConformanceOptions): Check[] {
  switch (options.kind) {
    case 'singer-target':
      return singerTargetChecks(options);
  }
}

export async function runExternalConformance(options: ExternalConformanceOptions): Promise<ConformanceReport> {
  const results = [];
  for (const check of externalChecks(options)) results.push(await runCheck(check, options));
  return makeReport(`${options.kind}: ${options.command}`, results);
}
