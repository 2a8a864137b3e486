/**
 * The source suite: spec and `check` checks, then `discover` (streams with names, sync modes and JSON
 * Schemas Ajv compiles), `read` (records of discovered streams that match their stream's schema; invalid
 * input reported with a reason), state (JSON, and a read resumes from it), and stopping early (the
 * engine stops reading on interrupt; a source must let go promptly).
 */
import { parseJson, stringifyJson } from '../../protocol/json.ts';
import type { SourceDefinition, SourceMessage, StreamDescriptor } from '../../sdk/source.ts';
import { secretValues } from '../canary.ts';
import { type Check, type CheckContext, CheckFailed, CheckSkipped, expectThat, resolveConfigInput, runCheck } from '../checks.ts';
import { createAjv, formatAjvErrors } from '../json-schema.ts';
import { makeReport } from '../report.ts';
import type { ConformanceReport, SourceConformanceOptions } from '../types.ts';
import { checkChecks, parseOrFail } from './check.ts';
import { specChecks } from './spec.ts';

const SYNC_MODES = new Set(['full_refresh', 'incremental']);
const SCHEMA_CHECKED_RECORDS = 1000;
const STOP_WITHIN_MS = 5000;

interface Session {
  readonly config: unknown;
  readonly streams: readonly StreamDescriptor[];
}

async function open(definition: SourceDefinition, options: SourceConformanceOptions, ctx: CheckContext): Promise<Session> {
  const raw = await resolveConfigInput(options.validConfig, ctx.scope);
  for (const secret of secretValues(definition.spec, raw)) ctx.secrets.add(secret);
  const config = parseOrFail(definition.spec, raw, 'valid');
  const streams = await definition.discover(config as never, ctx.connector);
  expectThat(Array.isArray(streams) && streams.length > 0, 'discover returned no streams');
  return { config, streams };
}

function read(definition: SourceDefinition, session: Session, ctx: CheckContext, state: SourceMessage & { type: 'state' } | undefined = undefined): AsyncIterable<SourceMessage> {
  const streams = session.streams.map((stream) => ({ name: stream.name, syncMode: stream.syncModes.includes('incremental') ? ('incremental' as const) : ('full_refresh' as const) }));
  return definition.read(session.config as never, { streams, state: state?.state }, ctx.connector);
}

/** Up to `max` records (and every other message on the way), then stop reading. */
async function collect(messages: AsyncIterable<SourceMessage>, max: number): Promise<SourceMessage[]> {
  const out: SourceMessage[] = [];
  let records = 0;
  for await (const message of messages) {
    out.push(message);
    if (message.type === 'record' && ++records >= max) break;
  }
  return out;
}

export function sourceChecks(definition: SourceDefinition, options: SourceConformanceOptions): Check[] {
  const max = options.maxRecords ?? 10_000;
  return [
    ...specChecks(definition, options),
    ...checkChecks(definition, options),
    {
      id: 'source.discover',
      title: 'discover returns named streams with sync modes and JSON Schemas that compile',
      async run(ctx) {
        const { streams } = await open(definition, options, ctx);
        const names = new Set<string>();
        for (const stream of streams) {
          expectThat(typeof stream.name === 'string' && stream.name !== '', 'a stream has no name');
          expectThat(!names.has(stream.name), `two streams are named ${stream.name}`);
          names.add(stream.name);
          expectThat(stream.syncModes.length > 0 && stream.syncModes.every((mode) => SYNC_MODES.has(mode)), `${stream.name}: sync modes must be full_refresh and/or incremental`);
          try {
            createAjv(false).compile(stream.jsonSchema);
          } catch (error) {
            throw new CheckFailed(`${stream.name}: its JSON Schema does not compile: ${(error as Error).message}`);
          }
        }
        return [...names].join(', ');
      },
    },
    {
      id: 'source.read',
      title: "read yields records of discovered streams that match their stream's schema",
      async run(ctx) {
        const session = await open(definition, options, ctx);
        const ajv = createAjv(false);
        const validators = new Map(session.streams.map((stream) => [stream.name, ajv.compile(stream.jsonSchema)]));
        const messages = await collect(read(definition, session, ctx), max);
        let records = 0;
        let invalid = 0;
        for (const message of messages) {
          if (message.type === 'state') continue;
          const validate = validators.get(message.stream);
          expectThat(validate !== undefined, `a ${message.type} message names stream "${message.stream}", which discover did not return`);
          if (message.type === 'invalid') {
            invalid++;
            expectThat(typeof message.reason === 'string' && message.reason.trim() !== '', 'an invalid message has no reason');
          } else if (message.type === 'record') {
            expectThat(message.data !== null && typeof message.data === 'object' && !Array.isArray(message.data), 'a record is not a JSON object');
            // Checked as a JSON client sees it: big integers and exact decimals become plain numbers.
            if (records++ < SCHEMA_CHECKED_RECORDS) {
              expectThat(validate(JSON.parse(stringifyJson(message.data))), `record ${records} of ${message.stream} does not match its schema: ${formatAjvErrors(validate.errors)}`);
            }
          }
        }
        if (records === 0) throw new CheckSkipped('the valid config reads no records; give one with data to check them');
        return `${records} records${invalid > 0 ? `, ${invalid} invalid` : ''}`;
      },
    },
    {
      id: 'source.state',
      title: 'states are JSON, and a read resumes from the last one',
      async run(ctx) {
        const session = await open(definition, options, ctx);
        const states = (await collect(read(definition, session, ctx), max)).filter((message) => message.type === 'state');
        if (states.length === 0) throw new CheckSkipped('the source emitted no state (full refresh only)');
        for (const message of states) {
          expectThat(message.state !== null && typeof message.state === 'object' && !Array.isArray(message.state), 'a state is not a JSON object');
          const text = stringifyJson(message.state);
          expectThat(stringifyJson(parseJson(text)) === text, `a state does not survive a JSON round trip: ${text.slice(0, 200)}`);
        }
        const again = await collect(read(definition, session, ctx, states[states.length - 1]), max);
        return `${states.length} states; resumed read yielded ${again.filter((message) => message.type === 'record').length} records`;
      },
    },
    {
      id: 'source.stop-early',
      title: 'read lets go promptly when the reader stops after one record',
      async run(ctx) {
        const session = await open(definition, options, ctx);
        const iterator = read(definition, session, ctx)[Symbol.asyncIterator]();
        let first = await iterator.next();
        while (!first.done && first.value.type !== 'record') first = await iterator.next();
        if (first.done) throw new CheckSkipped('the valid config reads no records');
        const started = Date.now();
        const stopped = await Promise.race([Promise.resolve(iterator.return?.()).then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), STOP_WITHIN_MS).unref())]);
        expectThat(stopped, `read did not stop within ${STOP_WITHIN_MS} ms of return()`);
        return `stopped in ${Date.now() - started} ms`;
      },
    },
  ];
}

export async function runSourceConformance(definition: SourceDefinition, options: SourceConformanceOptions): Promise<ConformanceReport> {
  const results = [];
  for (const check of sourceChecks(definition, options)) results.push(await runCheck(check, options));
  return makeReport(`source/${definition.id}`, results);
}
