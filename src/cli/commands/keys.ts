/**
 * `sluice keys create|list|revoke`: API keys for `sluice serve`, managed directly in the store (the
 * embedded one under SLUICE_HOME, or DATABASE_URL's). A new key is printed once; only its hash is kept.
 */
import type { Command } from 'commander';
import { describeError } from '../../sdk/errors.ts';
import type { Database } from '../../store/db.ts';
import { acquireHomeLock, type HomeLock } from '../../store/home-lock.ts';
import { openStore, storeOptionsFromEnv } from '../../store/index.ts';
import { createApiKey, listApiKeys, revokeApiKey } from '../../store/keys.ts';
import { audit } from '../../store/audit.ts';
import { EXIT, type Output } from '../output.ts';

export function registerKeysCommand(program: Command, output: Output, setExit: (code: number) => void): void {
  const keys = program.command('keys').description('manage the API keys of `sluice serve` (X-API-Key)');
  keys
    .command('create')
    .description('create a key and print it (shown once)')
    .option('-n, --name <name>', 'what the key is for', 'cli')
    .action(async (options: { name: string }) =>
      setExit(
        await withStore(output, async (db) => {
          const { key, info } = await createApiKey(db, options.name);
          await audit(db, { actor: 'cli', action: 'key.create', target: `key:${info.prefix}`, detail: { id: info.id, name: info.name } });
          output.out(key);
          output.err(`created key ${info.id} "${info.name}" (prefix ${info.prefix}); it is shown only now`);
          return EXIT.ok;
        }),
      ),
    );
  keys
    .command('list')
    .description('list keys (never the keys themselves)')
    .action(async () =>
      setExit(
        await withStore(output, async (db) => {
          const all = await listApiKeys(db);
          if (all.length === 0) output.err('no keys');
          for (const key of all) {
            const status = key.revoked_at === null ? 'active' : `revoked ${key.revoked_at}`;
            output.out(`${key.id}\t${key.prefix}…\t${key.name}\tcreated ${key.created_at}\t${status}\tlast used ${key.last_used_at ?? 'never'}`);
          }
          return EXIT.ok;
        }),
      ),
    );
  keys
    .command('revoke')
    .description('revoke a key by its id or prefix')
    .argument('<key>', 'id or prefix (see `sluice keys list`)')
    .action(async (which: string) =>
      setExit(
        await withStore(output, async (db) => {
          const revoked = await revokeApiKey(db, which);
          if (revoked === 0) {
            output.err(`error: no active key has id or prefix "${which}"`);
            return EXIT.failed;
          }
          await audit(db, { actor: 'cli', action: 'key.revoke', target: which });
          output.err(`revoked ${revoked} key${revoked === 1 ? '' : 's'}`);
          return EXIT.ok;
        }),
      ),
    );
}

async function withStore(output: Output, work: (db: Database) => Promise<number>): Promise<number> {
  const options = storeOptionsFromEnv();
  let lock: HomeLock | undefined;
  let db: Database | undefined;
  try {
    if (options.databaseUrl === undefined) lock = acquireHomeLock(options.home ?? '.sluice', 'sluice keys');
    db = await openStore(options);
    return await work(db);
  } catch (error) {
    output.err(`error: ${describeError(error)}`);
    return EXIT.failed;
  } finally {
    await db?.close();
    lock?.release();
  }
}
