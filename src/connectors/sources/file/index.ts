/**
 * The `file` source: CSV, JSON Lines, JSON arrays and Parquet from local files, one file or a glob of
 * them read as one stream. Streams in constant memory, keeps long numbers exact, and reports a malformed
 * line as an `invalid` message naming the file and line instead of failing the run. See README.md.
 */
import { defineSource } from '../../../sdk/source.ts';
import { resolveFormat } from './format.ts';
import { assertReadable, resolveFiles } from './glob.ts';
import { errorMessage } from './messages.ts';
import { discoverStream, readFiles } from './read.ts';
import { fileSpec } from './spec.ts';

export default defineSource({
  id: 'file',
  title: 'File',
  description: 'Reads records from CSV, JSON Lines, JSON and Parquet files; a glob reads many files as one stream.',
  spec: fileSpec,
  async check(config) {
    try {
      resolveFormat(config);
      await assertReadable(await resolveFiles(config.path));
      return { ok: true };
    } catch (error) {
      return { ok: false, reason: errorMessage(error) };
    }
  },
  async discover(config, ctx) {
    return [await discoverStream(config, ctx)];
  },
  read: readFiles,
});
