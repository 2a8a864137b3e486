/**
 * The `sftp` destination: file drops. The engine writes the records into files (CSV or JSON Lines,
 * optionally gzipped, cut at `max_rows` / `max_bytes`) and this object uploads each one: to a hidden
 * temporary name (`.<name>.part`) first, then renamed into place — so a reader polling the directory never
 * sees half a file, and an upload repeated after a crash replaces the same file rather than adding one.
 * A file's rows are delivered once it is in place (upload only: no polling, no per-row results).
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { type BulkObject, defineDestination } from '../../../sdk/destination.ts';
import type { CheckResult } from '../../../sdk/context.ts';
import { SluiceError, describeError } from '../../../sdk/errors.ts';
import { connect } from './client.ts';
import { type SftpConfig, sftpSpec } from './spec.ts';

export interface SftpJob {
  [key: string]: string;
  path: string;
}

function remotePath(config: SftpConfig, name: string): string {
  return posix.join(config.directory, name);
}

async function check(config: SftpConfig): Promise<CheckResult> {
  let connection;
  try {
    connection = await connect(config);
    const info = await connection.stat(config.directory);
    if (info === undefined) return { ok: false, reason: `sftp: the directory ${config.directory} does not exist on ${config.host}` };
    if (!info.isDirectory()) return { ok: false, reason: `sftp: ${config.directory} on ${config.host} is not a directory` };
    const probe = remotePath(config, `.sluice-check-${randomBytes(4).toString('hex')}`);
    await connection.write(probe, 'sluice check\n');
    await connection.unlink(probe);
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: error instanceof SluiceError ? error.message : describeError(error) };
  } finally {
    connection?.close();
  }
}

const files: BulkObject<SftpConfig, undefined, SftpJob> = {
  title: 'Files',
  description: 'Records as rows of CSV or JSON Lines files, each uploaded under a temporary name and renamed into place.',
  // Append drops every record read; the diff modes drop only new or changed rows (a file carries no deletes).
  syncModes: ['append', 'insert', 'update', 'upsert', 'all'],
  file: (config) => ({
    format: config.format,
    gzip: config.gzip,
    maxRows: config.max_rows,
    maxBytes: config.max_bytes,
    ...(config.columns === undefined ? {} : { columns: config.columns }),
    ...(config.file_name === undefined ? {} : { nameTemplate: config.file_name }),
  }),
  maxJobs: (config) => config.max_uploads,
  async upload(file, ctx) {
    const config = ctx.config;
    const target = remotePath(config, file.name);
    const temporary = remotePath(config, `.${file.name}.part`);
    const connection = await connect(config, ctx.signal);
    try {
      await connection.put(file.path, temporary);
      await connection.rename(temporary, target);
      ctx.logger.info({ file: target, rows: file.rows, bytes: file.bytes }, 'sftp: file uploaded');
      return { path: target };
    } finally {
      connection.close();
    }
  },
};

export default defineDestination<typeof sftpSpec, undefined>({
  id: 'sftp',
  title: 'SFTP',
  description: 'Drops records as CSV or JSON Lines files (optionally gzipped) on an SFTP server, each written under a temporary name and renamed into place.',
  spec: sftpSpec,
  check,
  objects: { files },
});
