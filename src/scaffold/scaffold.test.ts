/**
 * `sluice new` output builds and passes its own tests as generated: a destination and a source are
 * generated into a scratch folder inside the package (so `sluice/sdk` resolves), type-checked with tsc,
 * and their tests run in a separate vitest. The folder is removed whatever happens, and the registry is
 * never touched (`--dir` does not register).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCommand } from '../cli/commands/new.ts';
import type { Output } from '../cli/output.ts';
import { namesFor } from './names.ts';
import { addToRegistry } from './register.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REGISTRY = join(ROOT, 'src/connectors/registry.ts');
const scratch = join(ROOT, '.tmp', `scaffold-${randomBytes(4).toString('hex')}`);
let registryBefore = '';

beforeAll(async () => {
  registryBefore = await readFile(REGISTRY, 'utf8');
  await mkdir(scratch, { recursive: true });
  await writeFile(join(scratch, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', include: ['./**/*.ts'], exclude: [] }));
  await writeFile(join(scratch, 'vitest.config.mjs'), "export default { test: { include: ['**/*.test.ts'], testTimeout: 60000 } };\n");
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  // A nested vitest must not think it is a worker of this one.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST') && key !== 'NODE_OPTIONS'));
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

const quiet: Output = { out: () => undefined, err: () => undefined };

describe('sluice new', () => {
  it('generates a destination and a source that type-check and pass their tests', async () => {
    expect(await newCommand('destination', 'acme_probe', { dir: join(scratch, 'acme_probe') }, quiet)).toBe(0);
    expect(await newCommand('source', 'acme_feed', { dir: join(scratch, 'acme_feed') }, quiet)).toBe(0);
    const tsc = await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(scratch, 'tsconfig.json')]);
    expect(tsc.output, 'tsc').toBe('');
    expect(tsc.code).toBe(0);
    const vitest = await run(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--root', scratch, '--config', 'vitest.config.mjs']);
    expect(vitest.code, vitest.output).toBe(0);
    expect(vitest.output).toMatch(/Test Files\s+.*2 passed/);
    expect(await readFile(REGISTRY, 'utf8')).toBe(registryBefore);
  }, 120_000);

  it('refuses a bad id, an unknown kind, and a folder that exists', async () => {
    expect(await newCommand('destination', 'Acme-CRM', { dir: join(scratch, 'bad') }, quiet)).toBe(2);
    expect(await newCommand('sink', 'acme', { dir: join(scratch, 'bad') }, quiet)).toBe(2);
    await mkdir(join(scratch, 'taken'), { recursive: true });
    expect(await newCommand('destination', 'taken', { dir: join(scratch, 'taken') }, quiet)).toBe(2);
  });

  it('derives names from the id', () => {
    expect(namesFor('acme_crm')).toEqual({ id: 'acme_crm', title: 'Acme Crm', pascal: 'AcmeCrm', camel: 'acmeCrm', env: 'ACME_CRM' });
  });
});

describe('registering a connector', () => {
  const registry = [
    'export const destinationLoaders: Readonly<Record<string, Loader<DestinationDefinition>>> = {',
    "  file: () => import('./destinations/file/index.ts'),",
    "  http: () => import('./destinations/http/index.ts'),",
    '};',
  ].join('\n');

  it('inserts the lazy import in sorted order', () => {
    expect(addToRegistry(registry, 'destination', 'acme').split('\n')[1]).toBe("  acme: () => import('./destinations/acme/index.ts'),");
    expect(addToRegistry(registry, 'destination', 'google').split('\n')[2]).toBe("  google: () => import('./destinations/google/index.ts'),");
    expect(addToRegistry(registry, 'destination', 'zendesk').split('\n')[3]).toBe("  zendesk: () => import('./destinations/zendesk/index.ts'),");
  });

  it('refuses a connector that is already there, and a registry it does not recognise', () => {
    expect(() => addToRegistry(registry, 'destination', 'http')).toThrow(/already registered/);
    expect(() => addToRegistry(registry, 'source', 'acme')).toThrow(/cannot find sourceLoaders/);
  });
});
