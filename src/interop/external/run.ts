/**
 * Running an external connector for one answer — a Singer catalog, an Airbyte CATALOG or
 * CONNECTION_STATUS: start it with its config in a private file, let `consume` read its stdout, wait for
 * it to exit, and clean up however that ends. A run that is cancelled stops the child.
 */
import type { Readable } from 'node:stream';
import type { Logger } from '../../sdk/context.ts';
import { type ChildExit, ExternalProcess } from './child.ts';
import type { Redact } from './redact.ts';
import { type SecretFiles, withSecretFiles } from './secret-files.ts';
import type { ExternalConfig } from './spec-fields.ts';

export interface Finished<T> {
  readonly value: T;
  readonly exit: ChildExit;
  /** The exit in words, with the child's last stderr line: for error messages. */
  readonly failure: string;
  readonly aborted: boolean;
}

export interface RunRequest<T> {
  readonly config: ExternalConfig;
  readonly args: (files: SecretFiles) => Promise<readonly string[]>;
  readonly logger: Logger;
  readonly redact: Redact;
  readonly signal: AbortSignal;
  readonly consume: (stdout: Readable, child: ExternalProcess) => Promise<T>;
  /** Pipe stdin and close it at once (a Singer target run on empty input). */
  readonly emptyInput?: boolean;
}

export function runToCompletion<T>(request: RunRequest<T>): Promise<Finished<T>> {
  return withSecretFiles(async (files) => {
    const child = new ExternalProcess({
      command: request.config.command,
      args: await request.args(files),
      env: request.config.env,
      logger: request.logger,
      redact: request.redact,
      input: request.emptyInput === true,
    });
    child.stdin?.end();
    const onAbort = () => void child.stop();
    request.signal.addEventListener('abort', onAbort, { once: true });
    try {
      // Read stdout and wait for the exit together: a child that dies early must not leave `consume` waiting.
      const [value, exit] = await Promise.all([request.consume(child.stdout, child), child.exited]);
      return { value, exit, failure: child.describeExit(exit), aborted: request.signal.aborted };
    } finally {
      request.signal.removeEventListener('abort', onAbort);
      await child.stop();
    }
  });
}
