/**
 * One external target or destination for the length of a run, fed batch by batch. A batch is written to
 * the child's stdin as its records followed by a state carrying a unique marker; the batch is delivered
 * when the child prints that marker back — the protocols' promise that a state is echoed only once every
 * record before it is stored. So `deliver` resolves only then; outcomes are never guessed.
 *
 * The child is started at the first batch (a run without records starts nothing). If it exits, reports a
 * TRACE ERROR, or stays silent past `echoTimeoutMs`, the session fails: the waiting batch and every later
 * one throw DESTINATION_FAILED with the child's own words (exit code, last stderr line), so the run fails
 * with state kept behind the batch. A crashed child is not restarted: what it did with the records it had
 * is unknown, and the next run sends them again. `close` ends stdin and waits for a clean exit after a
 * complete run, and stops the child after an incomplete one.
 */
import type { Logger } from '../../sdk/context.ts';
import { SluiceError } from '../../sdk/errors.ts';
import { readLines } from '../../protocol/lines.ts';
import { type ChildExit, ExternalProcess } from './child.ts';
import { type Redact, redactor } from './redact.ts';
import { SecretFiles } from './secret-files.ts';
import type { ExternalConfig } from './spec-fields.ts';

export interface ChildOutput {
  readonly name: string;
  readonly logger: Logger;
  readonly redact: Redact;
}

/** What differs between Singer targets and Airbyte destinations. */
export interface TargetProtocol {
  /** For log lines: `Singer target`, `Airbyte destination`. */
  readonly kind: string;
  /** The arguments after the command, writing the files they name. */
  args(files: SecretFiles): Promise<readonly string[]>;
  /** One stdout line: the marker it confirms, a failure it reports, or nothing (it logs what it must). */
  readLine(text: string, line: number, output: ChildOutput): { readonly confirms?: string; readonly error?: string } | undefined;
}

export interface TargetSessionOptions {
  readonly config: ExternalConfig;
  readonly echoTimeoutMs: number;
  readonly logger: Logger;
}

interface Waiting {
  readonly marker: string;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class TargetSession {
  /** Resolves with the child's exit once all its output has been read. */
  private reading: Promise<ChildExit> | undefined;
  private files: SecretFiles | undefined;
  private starting: Promise<ExternalProcess> | undefined;
  private failure: SluiceError | undefined;
  private closing = false;
  private readonly waiting: Waiting[] = [];
  private readonly redact: Redact;

  constructor(
    private readonly options: TargetSessionOptions,
    private readonly protocol: TargetProtocol,
  ) {
    this.redact = redactor(options.config.config, options.config.env);
  }

  /** Write `text` — whole lines, the last a state carrying `marker` — and wait until the child echoes `marker`. */
  async deliver(text: string, marker: string, signal: AbortSignal): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    const child = await (this.starting ??= this.start());
    const confirmed = new Promise<void>((resolve, reject) => this.waiting.push({ marker, resolve, reject }));
    // It may be rejected while we are still writing; that rejection is awaited below.
    confirmed.catch(() => undefined);
    await this.write(child, text);
    await this.within(confirmed, child, signal);
  }

  /**
   * The run is over. Complete: write `lastLines` (if any), end the child's input and wait for a clean exit.
   * Not complete (the run failed or was interrupted): stop the child instead — ending its input would let
   * it finish the job, and a target that stages an overwrite would then swap partial data in. Every batch
   * it confirmed is stored either way. Throws if the child failed, now or before.
   */
  async close(complete: boolean, lastLines = ''): Promise<void> {
    this.closing = true;
    const child = await this.starting?.catch(() => undefined);
    try {
      if (child === undefined) return;
      if (this.failure !== undefined || !complete) {
        await child.stop();
        if (this.failure !== undefined) throw this.failure;
        return;
      }
      if (lastLines !== '') await this.write(child, lastLines);
      child.stdin?.end();
      const exit = await Promise.race([this.reading!, delay(this.options.echoTimeoutMs)]);
      if (exit === undefined) {
        await child.stop();
        throw new SluiceError('DESTINATION_FAILED', `${child.name} did not exit within ${this.options.echoTimeoutMs} ms after its input ended`);
      }
      if (this.failure !== undefined) throw this.failure;
      if (exit.code !== 0) throw new SluiceError('DESTINATION_FAILED', child.describeExit(exit));
    } finally {
      await this.files?.remove();
    }
  }

  private async start(): Promise<ExternalProcess> {
    this.files = await SecretFiles.create();
    const { config, logger } = this.options;
    const child = new ExternalProcess({ command: config.command, args: await this.protocol.args(this.files), env: config.env, logger, redact: this.redact, input: true });
    logger.info({ pid: child.pid }, `started ${child.name} (${this.protocol.kind})`);
    this.reading = this.readOutput(child);
    return child;
  }

  private async readOutput(child: ExternalProcess): Promise<ChildExit> {
    const output = { name: child.name, logger: this.options.logger, redact: this.redact };
    try {
      for await (const batch of readLines(child.stdout)) {
        batch.lines.forEach((text, index) => {
          const said = this.protocol.readLine(text, batch.first + index, output);
          if (said?.error !== undefined) this.fail(said.error);
          else if (said?.confirms !== undefined) this.confirm(said.confirms);
        });
      }
    } catch {
      // stdout failed: the exit below says why.
    }
    const exit = await child.exited;
    if (!this.closing || this.waiting.length > 0) this.fail(child.describeExit(exit));
    return exit;
  }

  /** The child echoed `marker`: that batch, and any before it, are delivered. */
  private confirm(marker: string): void {
    const at = this.waiting.findIndex((entry) => entry.marker === marker);
    if (at === -1) return;
    for (const entry of this.waiting.splice(0, at + 1)) entry.resolve();
  }

  private fail(message: string): void {
    this.failure ??= new SluiceError('DESTINATION_FAILED', message);
    for (const entry of this.waiting.splice(0)) entry.reject(this.failure);
  }

  /** Write with backpressure; a child that dies meanwhile is reported by `readOutput`. */
  private async write(child: ExternalProcess, text: string): Promise<void> {
    const stdin = child.stdin!;
    if (stdin.write(text)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        stdin.off('drain', done);
        stdin.off('close', done);
        resolve();
      };
      stdin.on('drain', done);
      stdin.on('close', done);
    });
  }

  private async within(confirmed: Promise<void>, child: ExternalProcess, signal: AbortSignal): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.fail(`${child.name} did not confirm a batch within ${this.options.echoTimeoutMs} ms (it must echo the state that follows the batch's records once they are stored)`);
        reject(this.failure);
      }, this.options.echoTimeoutMs);
      onAbort = () => reject(new SluiceError('DESTINATION_FAILED', `the run stopped before ${child.name} confirmed the batch`));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([confirmed, timeout]);
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    }
  }
}

function delay(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms).unref());
}
