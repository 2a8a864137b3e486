/**
 * One process at a time per embedded database. PGlite keeps no lock of its own, and two processes
 * writing one data directory would corrupt it, so the process that opens `<SLUICE_HOME>/db` holds
 * `<SLUICE_HOME>/sluice.pid`. A pid file left by a dead process is taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SluiceError } from '../sdk/errors.ts';

export interface HomeLock {
  release(): void;
}

export function acquireHomeLock(home: string, purpose: string): HomeLock {
  mkdirSync(home, { recursive: true });
  const file = join(home, 'sluice.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid} ${purpose}\n`, { flag: 'wx' });
      return { release: () => rmSync(file, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const [pidText, ...rest] = readFileSync(file, 'utf8').trim().split(' ');
      const pid = Number(pidText);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new SluiceError(
          'CONFIG_INVALID',
          `the embedded database in ${home} is in use by process ${pid} (${rest.join(' ') || 'sluice'}); ` +
            'stop it first, or set DATABASE_URL to share a PostgreSQL server between processes',
        );
      }
      rmSync(file, { force: true });
    }
  }
  throw new SluiceError('CONFIG_INVALID', `could not lock ${file}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
