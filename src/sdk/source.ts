/**
 * The source contract: `spec` → `check` → `discover` → `read`.
 *
 * `read` is an async iterable (pulled by the engine, so backpressure is free) of:
 * - `record`  one record of a stream, with where it came from (file and line) for error messages;
 * - `invalid` input that could not become a record (a malformed line); the engine rejects it into the
 *   ledger with the reason and goes on — a source must not throw for one bad line;
 * - `state`   a full state value (Singer style `{ bookmarks: … }`) covering every record before it;
 * - `schema`  optional: a stream's JSON Schema as the input announced it (Singer SCHEMA messages).
 */
import type { z } from 'zod';
import type { JsonObject, JsonValue } from '../protocol/json.ts';
import type { CheckResult, ConnectorContext } from './context.ts';
import type { JsonSchema } from './spec.ts';

export type SourceSyncMode = 'full_refresh' | 'incremental';

export interface StreamDescriptor {
  readonly name: string;
  readonly jsonSchema: JsonSchema;
  readonly primaryKey?: readonly string[][];
  /** The field an incremental read can resume from, when the source defines one. */
  readonly cursorField?: readonly string[];
  readonly syncModes: readonly SourceSyncMode[];
}

export interface ConfiguredStream {
  readonly name: string;
  readonly syncMode: SourceSyncMode;
  readonly cursorField?: readonly string[];
  readonly primaryKey?: readonly string[][];
}

/** Singer-compatible state: one bookmark object per stream, plus anything a source wants to keep. */
export interface State {
  readonly bookmarks?: { readonly [stream: string]: JsonValue };
  readonly [key: string]: JsonValue | undefined;
}

/** Where a record came from, for messages that must name the file and line. */
export interface Origin {
  readonly file?: string;
  readonly line?: number;
}

export type SourceMessage =
  /**
   * `json`, optional: `data` as JSON text, exactly — the same members, numbers digit for digit — when the
   * source has it anyway (a protocol line). The engine then writes it as is instead of serializing `data`.
   */
  | { readonly type: 'record'; readonly stream: string; readonly data: JsonObject; readonly origin?: Origin; readonly json?: string }
  | { readonly type: 'invalid'; readonly stream: string; readonly reason: string; readonly raw: string; readonly origin?: Origin }
  | { readonly type: 'state'; readonly state: State }
  /** A stream's (new) schema, as protocol streams announce it; destinations that create tables use it. */
  | { readonly type: 'schema'; readonly stream: string; readonly jsonSchema: JsonSchema; readonly keyProperties?: readonly string[] };

export interface ReadRequest {
  readonly streams: readonly ConfiguredStream[];
  readonly state: State | undefined;
}

export interface SourceDefinition<Spec extends z.ZodType = z.ZodType> {
  readonly kind: 'source';
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly spec: Spec;
  check(config: z.output<Spec>, ctx: ConnectorContext): Promise<CheckResult>;
  discover(config: z.output<Spec>, ctx: ConnectorContext): Promise<readonly StreamDescriptor[]>;
  read(config: z.output<Spec>, request: ReadRequest, ctx: ConnectorContext): AsyncIterable<SourceMessage>;
}

/** Identity helper: gives a source definition its types without ceremony. */
export function defineSource<Spec extends z.ZodType>(definition: Omit<SourceDefinition<Spec>, 'kind'>): SourceDefinition<Spec> {
  return { kind: 'source', ...definition };
}
