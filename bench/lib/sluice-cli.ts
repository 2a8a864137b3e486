/**
 * Run the real `sluice` CLI as a measured child process: write the config (YAML, Tightlock shape) into a
 * fresh temporary directory under bench/.data/, run `sluice run <config> --state <fresh state> --json` with
 * report-rss.ts preloaded, and return the run summaries it printed together with wall time and peak RSS.
 * Each run starts with no state and its own SLUICE_HOME, so no run sees another's bookmarks or rejects —
 * unless it is given a `workDir`: runs sharing one share their state file, fingerprints (next to it) and
 * SLUICE_HOME, as successive runs of one activation do (the diff sync modes need that). The caller removes it.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { RunSummary } from '../../src/engine/types.ts';
import { DATA_DIR } from '../data.ts';
import { type MeasureResult, REPO_ROOT, describeExit, runMeasured, tail } from './measure.ts';

/**
 * The CLI entry point; `BENCH_SLUICE_BIN` points at another checkout's bin/sluice.js to compare builds.
 * Benchmarks run the compiled CLI (`npm run bench` builds it first), as an installed package runs.
 */
export const SLUICE_BIN = process.env.BENCH_SLUICE_BIN ?? join(REPO_ROOT, 'bin', 'sluice.js');
export const SLUICE_ENV = { SLUICE_DIST: '1' } as const;

/** Whether the CLI and connector registry exist yet (they are being written alongside the benchmarks). */
export function sluiceCliAvailable(): boolean {
  return existsSync(join(REPO_ROOT, 'src', 'cli', 'main.ts')) && existsSync(join(REPO_ROOT, 'src', 'connectors', 'registry.ts'));
}

export interface SluiceRunOptions {
  /** The config document (sources, destinations, activations), written as YAML. */
  readonly config: unknown;
  readonly timeoutMs?: number;
  /** Extra node flags for the child, e.g. ['--cpu-prof', '--cpu-prof-dir', dir]. */
  readonly nodeFlags?: readonly string[];
  readonly extraArgs?: readonly string[];
  /** Keep config, state, fingerprints and SLUICE_HOME in this directory (kept after the run), not a fresh one. */
  readonly workDir?: string;
}

export interface SluiceRunResult {
  readonly summaries: readonly RunSummary[];
  readonly process: MeasureResult;
}

/** Parse the CLI's `--json` output: the whole of stdout, or failing that its last JSON line. */
function parseSummaries(stdout: string): RunSummary[] | undefined {
  const attempt = (text: string): RunSummary[] | undefined => {
    try {
      const value = JSON.parse(text) as unknown;
      if (Array.isArray(value)) return value as RunSummary[];
      if (value !== null && typeof value === 'object') {
        const runs = (value as { runs?: unknown }).runs;
        if (Array.isArray(runs)) return runs as RunSummary[];
        return [value as RunSummary];
      }
      return undefined;
    } catch {
      return undefined;
    }
  };
  const whole = attempt(stdout.trim());
  if (whole !== undefined) return whole;
  const lines = stdout.trim().split('\n').reverse();
  for (const line of lines) {
    const parsed = attempt(line.trim());
    if (parsed !== undefined) return parsed;
  }
  return undefined;
}

export async function runSluiceCli(options: SluiceRunOptions): Promise<SluiceRunResult> {
  mkdirSync(DATA_DIR, { recursive: true });
  if (options.workDir !== undefined) mkdirSync(options.workDir, { recursive: true });
  const dir = options.workDir ?? mkdtempSync(join(DATA_DIR, 'run-'));
  try {
    const configPath = join(dir, 'sluice.yaml');
    writeFileSync(configPath, stringify(options.config));
    const result = await runMeasured({
      args: [SLUICE_BIN, 'run', configPath, '--state', join(dir, 'state.json'), '--json', ...(options.extraArgs ?? [])],
      ...(options.nodeFlags === undefined ? {} : { nodeFlags: options.nodeFlags }),
      env: { ...SLUICE_ENV, SLUICE_HOME: join(dir, 'home'), NO_COLOR: '1' },
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    const summaries = parseSummaries(result.stdout);
    if (summaries === undefined) {
      throw new Error(`sluice run (${describeExit(result)}) printed no JSON summary.\nstdout: ${tail(result.stdout)}\nstderr: ${tail(result.stderr)}`);
    }
    return { summaries, process: result };
  } finally {
    if (options.workDir === undefined) rmSync(dir, { recursive: true, force: true });
  }
}
