/**
 * `sluice/testing` — the conformance suite every connector runs: in-process definitions
 * (`runSourceConformance`, `runDestinationConformance`) and external commands speaking a protocol
 * (`runExternalConformance`), as a report or as vitest tests (`describeConformance`). See
 * docs/connector-contract.md for what each check promises.
 */
export { runSourceConformance, sourceChecks } from './conformance/source.ts';
export { runDestinationConformance, destinationChecks } from './conformance/destination.ts';
export { runExternalConformance, externalChecks, EXTERNAL_KINDS } from './external/index.ts';
export { describeConformance, describeExternalConformance } from './vitest.ts';
export { runCheck, CheckFailed, CheckSkipped, expectThat } from './checks.ts';
export type { Check, CheckContext } from './checks.ts';
export { formatReport, makeReport } from './report.ts';
export { breakConfig } from './break-config.ts';
export { readJsonLines } from './inspect.ts';
export type {
  CheckResult,
  CheckStatus,
  ConformanceReport,
  ConfigInput,
  ConfigScope,
  RawConfig,
  CommonConformanceOptions,
  SourceConformanceOptions,
  DestinationConformanceOptions,
  ExternalConformanceOptions,
  ExternalKind,
} from './types.ts';
