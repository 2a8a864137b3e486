/**
 * The destination suite: spec and `check` checks, then `write` called directly, then the real engine
 * (batch limits, state order), then a kill -9 in the middle of a run. `runDestinationConformance` runs
 * them all and returns a report; `destinationChecks` lists them for runners that run one at a time.
 */
import type { DestinationDefinition } from '../../sdk/destination.ts';
import { type Check, runCheck } from '../checks.ts';
import { makeReport } from '../report.ts';
import type { ConformanceReport, DestinationConformanceOptions } from '../types.ts';
import { checkChecks } from './check.ts';
import { batchLimitsCheck, stateOrderCheck } from './destination-engine.ts';
import { resumeCheck } from './destination-resume.ts';
import { writeCheck } from './destination-write.ts';
import { specChecks } from './spec.ts';

export function destinationChecks(definition: DestinationDefinition, options: DestinationConformanceOptions): Check[] {
  return [
    ...specChecks(definition, options),
    ...checkChecks(definition, options),
    writeCheck(definition, options),
    batchLimitsCheck(definition, options),
    stateOrderCheck(definition, options),
    resumeCheck(definition, options),
  ];
}

export async function runDestinationConformance(definition: DestinationDefinition, options: DestinationConformanceOptions): Promise<ConformanceReport> {
  const results = [];
  for (const check of destinationChecks(definition, options)) results.push(await runCheck(check, options));
  return makeReport(`destination/${definition.id}`, results);
}
