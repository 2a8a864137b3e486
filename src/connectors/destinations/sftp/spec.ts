/**
 * The sftp destination's config. Every description is user-facing (form help and reference docs).
 * Either `password` or `private_key` authenticates; `host_key_sha256` pins the server's host key.
 */
import { z } from 'zod';
import { field } from '../../../sdk/spec.ts';

export const sftpSpec = z
  .strictObject({
    host: field(z.string().min(1), { description: 'The SFTP server: a host name or IP address.', examples: ['sftp.example.com'] }),
    port: field(z.number().int().min(1).max(65_535).default(22), { description: 'The SSH port.' }),
    username: field(z.string().min(1), { description: 'The user to log in as.' }),
    password: field(z.string().min(1).optional(), { description: 'The password, for password login (or give `private_key`).', secret: true }),
    private_key: field(z.string().min(1).optional(), {
      description: 'A private key (OpenSSH or PEM text, e.g. `${SFTP_PRIVATE_KEY}`), for key login (or give `password`).',
      secret: true,
    }),
    passphrase: field(z.string().min(1).optional(), { description: 'The passphrase of an encrypted `private_key`.', secret: true }),
    host_key_sha256: field(z.string().min(1).optional(), {
      description:
        "The server's host key fingerprint as `ssh-keygen -lf` prints it (`SHA256:…`). When set, a server presenting another key is refused; when absent, any host key is accepted.",
      examples: ['SHA256:Yn0kUxRu8cLtbKqgY7m0PG8v6ApC1yl3KpYH0cZyA3U'],
    }),
    directory: field(z.string().min(1).default('.'), {
      description: 'The remote directory files are written to; it must exist. Relative paths start at the login directory.',
      examples: ['/incoming/crm', 'uploads'],
    }),
    format: field(z.enum(['csv', 'jsonl']).default('csv'), {
      description: '`csv`: a header row, then one row per record; `jsonl`: one JSON record per line.',
    }),
    gzip: field(z.boolean().default(false), { description: 'Compress each file with gzip (the name gets `.gz`).' }),
    file_name: field(z.string().min(1).optional(), {
      description:
        'The remote file name: `{activation}`, `{run}` (the run id), `{index}` (the file number in the run, 00000…), `{date}` (YYYYMMDD, UTC), `{time}` (HHMMSS) and `{ext}` (`csv`, `jsonl`, `csv.gz`…) are filled in. Default `{activation}-{run}-{index}.{ext}`. Keep `{index}` when a run may write several files.',
      examples: ['customers-{date}-{index}.{ext}'],
    }),
    columns: field(z.array(z.string().min(1)).min(1).optional(), {
      description:
        'CSV only: the columns to write, in order; record fields not listed are left out. When absent, the columns are the fields of the first record, and a later record with another field is rejected rather than losing it.',
      examples: [['id', 'email', 'created_at']],
      visibleWhen: { format: 'csv' },
    }),
    max_rows: field(z.number().int().min(1).default(250_000), {
      description: 'A file is closed and uploaded once it holds this many rows (and the next one begins).',
    }),
    max_bytes: field(z.number().int().min(1024).default(256 * 1024 * 1024), {
      description: 'A file is closed and uploaded before it would pass this many bytes (uncompressed).',
    }),
    max_uploads: field(z.number().int().min(1).max(16).default(2), {
      description: 'Files uploaded at once; writing the next file goes on meanwhile.',
    }),
    timeout_ms: field(z.number().int().min(1000).default(20_000), { description: 'How long to wait for the server to connect and log in.' }),
  })
  .refine((config) => config.password !== undefined || config.private_key !== undefined, {
    message: 'give `password` or `private_key`',
    path: ['password'],
  });

export type SftpConfig = z.output<typeof sftpSpec>;
