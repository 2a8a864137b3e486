/**
 * What Singer targets and Airbyte destinations share: protocol messages from stdin run through the engine
 * (`runActivation`) into one object of a Sluice destination. States go to the caller's `onStateCommitted`
 * in order, each once every record before it has settled; no state file is kept (the orchestrator keeps
 * state — that is what the echoed states are for). Rejected records are reported through the protocol's
 * own channel, and to a JSONL ledger when `ledgerPath` is given.
 */
import { JsonlLedger, type RejectEntry, type RejectLedger } from '../engine/ledger.ts';
import { runActivation } from '../engine/run.ts';
import { MemoryStateStore } from '../engine/state-store.ts';
import type { RunSummary } from '../engine/types.ts';
import type { Logger } from '../sdk/context.ts';
import { type DestinationDefinition, type DestinationSyncMode, isStreamingObject } from '../sdk/destination.ts';
import type { SourceDefinition, State } from '../sdk/source.ts';

export interface TargetPlan {
  readonly destination: DestinationDefinition;
  readonly config: unknown;
  readonly object: string;
  readonly syncMode?: DestinationSyncMode;
  readonly source: SourceDefinition;
  readonly logger: Logger;
  /** Told about each rejected record, one line each (up to a cap; the ledger gets every one). */
  readonly reportReject: (text: string) => void;
  readonly ledgerPath?: string;
  readonly signal?: AbortSignal;
  readonly onStateCommitted: (state: State, recordCount: number) => void;
}

/** The object records go to: the one asked for, or the destination's only streaming object. */
export function chooseObject(definition: DestinationDefinition, requested: string | undefined): { name: string } | { error: string } {
  const streaming = Object.entries(definition.objects).filter(([, object]) => isStreamingObject(object)).map(([name]) => name);
  if (requested !== undefined) {
    if (streaming.includes(requested)) return { name: requested };
    return { error: `destination ${definition.id} has no object "${requested}" that accepts records (objects: ${streaming.join(', ') || 'none'})` };
  }
  if (streaming.length === 1) return { name: streaming[0]! };
  return { error: `destination ${definition.id} has several objects: choose one with --object (${streaming.join(', ')})` };
}

export async function runTarget(plan: TargetPlan): Promise<RunSummary> {
  const ledger = new ReportingLedger(plan.reportReject, plan.ledgerPath === undefined ? undefined : new JsonlLedger(plan.ledgerPath));
  return runActivation({
    activation: {
      name: plan.source.id,
      source: { definition: plan.source, config: {} },
      destination: { definition: plan.destination, config: plan.config, object: plan.object },
      ...(plan.syncMode === undefined ? {} : { syncMode: plan.syncMode }),
    },
    stateStore: new MemoryStateStore(),
    ledger,
    logger: plan.logger,
    ...(plan.signal === undefined ? {} : { signal: plan.signal }),
    onStateCommitted: plan.onStateCommitted,
  });
}

/** Past this many, rejects are only counted in the log (the ledger still gets each one). */
const REPORTED_REJECTS = 1000;

class ReportingLedger implements RejectLedger {
  private count = 0;

  constructor(
    private readonly report: (text: string) => void,
    private readonly inner: RejectLedger | undefined,
  ) {}

  add(entry: RejectEntry): void {
    this.count++;
    if (this.count <= REPORTED_REJECTS) this.report(describeReject(entry));
    this.inner?.add(entry);
  }

  async close(): Promise<void> {
    if (this.count > REPORTED_REJECTS) {
      this.report(`${this.count - REPORTED_REJECTS} more records were rejected (not listed here)`);
    }
    await this.inner?.close();
  }
}

/** One line for a reject: malformed input already names its line; others get the record's origin. */
export function describeReject(entry: RejectEntry): string {
  if (entry.code === 'RECORD_MALFORMED' || entry.origin?.line === undefined) return entry.reason;
  const where = `${entry.origin.file ?? 'input'} line ${entry.origin.line}`;
  return `${where}: record of stream ${entry.stream} rejected (${entry.code}): ${entry.reason}`;
}
