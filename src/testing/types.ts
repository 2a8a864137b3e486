/**
 * The vocabulary of the conformance suite: what a check reports, what a report holds, and what a connector
 * hands the suite (configs as values or as functions of a per-check scratch directory).
 */
import type { JsonObject } from '../protocol/json.ts';
import type { DestinationSyncMode } from '../sdk/destination.ts';

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable id, such as `destination.batch-limits`: what `skip` options and CI logs name. */
  readonly id: string;
  readonly title: string;
  readonly status: CheckStatus;
  /** Why it failed or was skipped; for a pass, what was measured (may be empty). */
  readonly message: string;
  readonly durationMs: number;
}

export interface ConformanceReport {
  /** What was tested: `destination/http`, or the external command line. */
  readonly subject: string;
  readonly results: readonly CheckResult[];
  /** True when no check failed (skips do not fail a report). */
  readonly ok: boolean;
}

/** Each check runs in a scope of its own: a fresh scratch directory and a tag unique to the check. */
export interface ConfigScope {
  readonly dir: string;
  readonly tag: string;
}

export type RawConfig = Record<string, unknown>;

/** A config, or a function that builds one for a check's scope (e.g. a path inside `scope.dir`). */
export type ConfigInput = RawConfig | ((scope: ConfigScope) => RawConfig | Promise<RawConfig>);

export interface CommonConformanceOptions {
  /** A config that satisfies the spec and passes `check` (a reachable server, an existing file). */
  readonly validConfig: ConfigInput;
  /**
   * A config that satisfies the spec but cannot work (an unreachable URL, a missing file): `check` must
   * refuse it. Absent: derived from the valid config by `breakConfig`; the check is skipped if it cannot be.
   */
  readonly invalidConfig?: ConfigInput;
  /** Checks to skip, by id, each with the reason shown in the report. */
  readonly skip?: Readonly<Record<string, string>>;
  /** Longest a single check may take; default 60 s. */
  readonly timeoutMs?: number;
}

export type SourceConformanceOptions = CommonConformanceOptions & {
  /** Most records read per read check; default 10 000. */
  readonly maxRecords?: number;
};

export type DestinationConformanceOptions = CommonConformanceOptions & {
  /** The object to write to; default: the first streaming object. */
  readonly object?: string;
  /** Sync mode for engine runs; default `append` when supported (a resumed run must not wipe the first). */
  readonly syncMode?: DestinationSyncMode;
  /**
   * Extra fields for every test record, for objects that require some: `{ email: "user{id}@example.com" }`
   * (`{id}` in a string becomes the record's number). Test records are `{ id, tag, name, ...record }`; the
   * destination must keep `id` and `tag` readable by `inspect`, which tells records and checks apart by them.
   */
  readonly record?: JsonObject;
  /** Read back every record delivered so far under this scope's config (from the server, the file…). */
  readonly inspect?: (scope: ConfigScope) => Promise<readonly JsonObject[]>;
  /** Module whose default export is the definition, for the check that runs it in a child process. */
  readonly module?: string | URL;
};

/** Protocols the suite can drive an external command through. */
export type ExternalKind = 'singer-target';

export interface ExternalConformanceOptions {
  /** The command line, run through the shell; `--config <file>` is appended. */
  readonly command: string;
  readonly kind: ExternalKind;
  /** The connector's config, written to a JSON file in the check's scratch directory. */
  readonly config: ConfigInput;
  /** Read back what the command delivered so far (e.g. the file a target writes). */
  readonly inspect?: (scope: ConfigScope) => Promise<readonly JsonObject[]>;
  /** Extra fields for every test record, as for destinations. */
  readonly record?: JsonObject;
  readonly cwd?: string;
  readonly skip?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}
