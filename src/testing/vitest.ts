/**
 * The suite as vitest tests: one `it` per check, named by its id, so a connector's conformance test is a
 * few lines and a failure names the broken promise. A skipped check shows as skipped, with its reason.
 */
import { describe, it } from 'vitest';
import type { DestinationDefinition } from '../sdk/destination.ts';
import type { SourceDefinition } from '../sdk/source.ts';
import { type Check, runCheck } from './checks.ts';
import { destinationChecks } from './conformance/destination.ts';
import { sourceChecks } from './conformance/source.ts';
import { externalChecks } from './external/index.ts';
import type { CommonConformanceOptions, DestinationConformanceOptions, ExternalConformanceOptions, SourceConformanceOptions } from './types.ts';

const DEFAULT_TIMEOUT_MS = 60_000;

function describeChecks(title: string, checks: readonly Check[], options: Pick<CommonConformanceOptions, 'skip' | 'timeoutMs'>): void {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  describe(title, () => {
    for (const check of checks) {
      it(`${check.id}: ${check.title}`, { timeout: timeoutMs + 5000 }, async (context) => {
        const result = await runCheck(check, options);
        if (result.status === 'skip') context.skip(result.message);
        if (result.status === 'fail') throw new Error(`${check.id}: ${result.message}`);
      });
    }
  });
}

/** Conformance tests for an in-process source or destination. */
export function describeConformance(definition: SourceDefinition, options: SourceConformanceOptions): void;
export function describeConformance(definition: DestinationDefinition, options: DestinationConformanceOptions): void;
export function describeConformance(definition: SourceDefinition | DestinationDefinition, options: SourceConformanceOptions | DestinationConformanceOptions): void {
  const checks = definition.kind === 'source' ? sourceChecks(definition, options) : destinationChecks(definition, options as DestinationConformanceOptions);
  describeChecks(`conformance: ${definition.kind}/${definition.id}`, checks, options);
}

/** Conformance tests for a connector that runs as an external command (a Singer target, …). */
export function describeExternalConformance(options: ExternalConformanceOptions): void {
  describeChecks(`conformance: ${options.kind} ${options.command}`, externalChecks(options), options);
}
