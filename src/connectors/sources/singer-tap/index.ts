/**
 * The `singer-tap` source: any Singer tap (tap-github, tap-postgres, a Singer SDK tap, Sluice's own) run as
 * a child process. Its catalog is discovered once per run; a read selects the activation's stream, passes
 * the last state back as `--state`, and streams RECORD/STATE/SCHEMA messages into the engine. The tap's
 * stderr goes to the run's logs (secrets masked); a non-zero exit fails the run with its last words.
 * See README.md.
 */
import { redactor } from '../../../interop/external/redact.ts';
import { SluiceError } from '../../../sdk/errors.ts';
import { defineSource } from '../../../sdk/source.ts';
import { runDiscovery, streamsOf, tapCatalog } from './catalog.ts';
import { readTap } from './read.ts';
import { singerTapSpec } from './spec.ts';

export default defineSource({
  id: 'singer-tap',
  title: 'Singer tap',
  description: 'Runs an external Singer tap and reads its records, passing state back on the next run.',
  spec: singerTapSpec,
  // The small real call: the tap starts, accepts its config and discovers at least one stream.
  async check(config, ctx) {
    try {
      const streams = streamsOf(await runDiscovery(config, ctx, redactor(config.config, config.env)));
      return streams.length > 0 ? { ok: true } : { ok: false, reason: 'the tap discovered no streams' };
    } catch (error) {
      return { ok: false, reason: error instanceof SluiceError ? error.message : String(error) };
    }
  },
  discover: async (config, ctx) => streamsOf(await tapCatalog(config, ctx, redactor(config.config, config.env))),
  read: readTap,
});
