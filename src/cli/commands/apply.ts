/**
 * `sluice apply <file>`: config as code. Reads a config file (JSON or YAML, bare or Tightlock's
 * `{label, value}`), posts it to a running `sluice serve` as a new config version, and prints the
 * version, or every problem with its JSON path. Secret values may be written as `********` to keep the
 * ones the server already holds.
 */
import { basename } from 'node:path';
import type { Command } from 'commander';
import { request } from 'undici';
import { readConfigFile, unwrapConfig } from '../../config/load.ts';
import { describeError } from '../../sdk/errors.ts';
import { EXIT, type Output, printIssues } from '../output.ts';

export interface ApplyOptions {
  readonly url?: string;
  readonly apiKey?: string;
  readonly label?: string;
}

export function registerApplyCommand(program: Command, output: Output, setExit: (code: number) => void): void {
  program
    .command('apply')
    .description('post a config file to a running `sluice serve` as a new version')
    .argument('<config>', 'config file (JSON or YAML)')
    .option('--url <url>', 'server URL (default $SLUICE_URL or http://127.0.0.1:8080)')
    .option('--api-key <key>', 'API key (default $SLUICE_API_KEY)')
    .option('--label <label>', 'version label (default: the file name and the time)')
    .action(async (file: string, options: ApplyOptions) => setExit(await applyCommand(file, options, output)));
}

export async function applyCommand(file: string, options: ApplyOptions, output: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const base = (options.url ?? env.SLUICE_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const apiKey = options.apiKey ?? env.SLUICE_API_KEY;
  if (apiKey === undefined || apiKey === '') {
    output.err('error: an API key is needed: pass --api-key or set SLUICE_API_KEY');
    return EXIT.usage;
  }
  let raw: unknown;
  try {
    raw = await readConfigFile(file);
  } catch (error) {
    output.err(`error: ${describeError(error)}`);
    return EXIT.usage;
  }
  const fileLabel = isObject(raw) && typeof raw.label === 'string' ? raw.label : undefined;
  const label = options.label ?? fileLabel ?? `${basename(file)} ${new Date().toISOString()}`;
  let response;
  try {
    response = await request(`${base}/api/v1/configs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body: JSON.stringify({ label, value: unwrapConfig(raw) }),
    });
  } catch (error) {
    output.err(`error: cannot reach ${base}: ${describeError(error)}`);
    return EXIT.failed;
  }
  const text = await response.body.text();
  const body = parseBody(text);
  if (response.statusCode === 200 || response.statusCode === 201) {
    output.out(`✔ ${file} applied as config version ${String(body.id)} ("${String(body.label)}")`);
    return EXIT.ok;
  }
  if (response.statusCode === 400 && Array.isArray(body.issues)) {
    printIssues(output, file, body.issues as { path: string; message: string }[]);
    return EXIT.usage;
  }
  const message = typeof body.error === 'string' ? body.error : typeof body.detail === 'string' ? body.detail : text.slice(0, 500);
  output.err(`error: ${base} answered ${response.statusCode}: ${message}`);
  return EXIT.failed;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseBody(text: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(text) as unknown;
    return isObject(parsed) ? parsed : {};
  } catch {
    return {};
  }
}
