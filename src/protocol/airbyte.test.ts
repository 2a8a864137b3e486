import { describe, expect, it } from 'vitest';
import { parseJson, stringifyJson } from './json.ts';
import { airbyteLine, airbyteRecordLine, airbyteRecordPrefix, errorTrace, parseAirbyteLine, streamStatusTrace, withDestinationStats } from './airbyte.ts';

describe('parseAirbyteLine', () => {
  it('reads RECORD envelopes, tolerating unknown fields and lower-case types', () => {
    expect(parseAirbyteLine('{"type":"record","record":{"stream":"s","namespace":"n","emitted_at":1,"data":{"id":1},"meta":{"changes":[]}}}', 1)).toEqual({
      type: 'RECORD',
      stream: 's',
      namespace: 'n',
      data: { id: 1 },
      json: '{"id":1}',
    });
  });

  it("passes on a record's data as the text it came as, or not at all when that text is not exactly the data", () => {
    const json = (text: string) => (parseAirbyteLine(text, 1) as { json?: string }).json;
    expect(json('{"type":"RECORD","record":{"stream":"s","data":{"n":12345678901234567890,"d":1.0,"o":{"data":[1]}},"emitted_at":1}}')).toBe(
      '{"n":12345678901234567890,"d":1.0,"o":{"data":[1]}}',
    );
    // Nested "data" keys elsewhere do not confuse it; the last "data" of the last "record" is the one parsed.
    expect(json('{"type":"RECORD","meta":{"record":{"data":{"x":1}}},"record":{"stream":"s","data":{"a":1},"data":{"b":2}}}')).toBe('{"b":2}');
    expect(json('{"type":"RECORD","record":{"stream":"s","data":{"a": 1}}}')).toBeUndefined();
    expect(json('{"type":"RECORD","record":{"stream":"s","data":{"a":1,"a":2}}}')).toBeUndefined();
  });

  it('keeps the whole STATE message, in all three forms, numbers as written', () => {
    for (const [text, stateType] of [
      ['{"type":"STATE","state":{"data":{"cursor":1}}}', 'LEGACY'],
      ['{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s"},"stream_state":{"c":1}}},"id":42}', 'STREAM'],
      ['{"type":"STATE","state":{"type":"GLOBAL","global":{"shared_state":{"d":"2020-08-31"},"stream_states":[]},"sourceStats":{"recordCount":1.0}}}', 'GLOBAL'],
    ] as const) {
      const message = parseAirbyteLine(text, 1);
      expect(message).toMatchObject({ type: 'STATE', stateType });
      expect(stringifyJson((message as { message: unknown }).message)).toBe(text);
    }
  });

  it('says what a message lacks, with the line number', () => {
    expect(parseAirbyteLine('{"type":"RECORD","record":{"data":{}}}', 4)).toEqual({ type: 'ERROR', line: 4, reason: 'RECORD has no "record.stream"' });
    expect(parseAirbyteLine('{"type":"STATE","state":{"type":"STREAM"}}', 5)).toEqual({ type: 'ERROR', line: 5, reason: 'STATE of type STREAM has no "state.stream" object' });
    expect(parseAirbyteLine('{"type":"STATE","state":{"type":"WEIRD"}}', 6)).toMatchObject({ type: 'ERROR', line: 6 });
  });

  it('passes LOG, TRACE and unknown types through for the caller to log', () => {
    expect(parseAirbyteLine('{"type":"LOG","log":{"level":"WARN","message":"hi"}}', 1)).toEqual({ type: 'LOG', level: 'WARN', message: 'hi' });
    expect(parseAirbyteLine('{"type":"TRACE","trace":{"type":"STREAM_STATUS"}}', 1)).toMatchObject({ type: 'TRACE', traceType: 'STREAM_STATUS' });
    expect(parseAirbyteLine('{"type":"CONTROL","control":{}}', 1)).toEqual({ type: 'OTHER', name: 'CONTROL' });
  });
});

describe('Airbyte serializing', () => {
  it('adds destinationStats to a state and keeps every other field, as Airbyte connectors print it', () => {
    const message = parseJson('{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s"},"stream_state":{"n":12345678901234567890}},"id":9},"extra":"x"}');
    expect(airbyteLine(withDestinationStats(message as never, 3))).toBe(
      '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s"},"stream_state":{"n":12345678901234567890}},"id":9,"destinationStats":{"recordCount":3.0}},"extra":"x"}',
    );
  });

  it('writes records, stream statuses and errors', () => {
    const line = airbyteRecordLine(airbyteRecordPrefix('s'), 1700000000000, parseJson('{"d":0.1000000000000000000001}') as never);
    expect(line).toBe('{"type":"RECORD","record":{"stream":"s","emitted_at":1700000000000,"data":{"d":0.1000000000000000000001}}}');
    expect(parseAirbyteLine(line, 1)).toMatchObject({ type: 'RECORD', stream: 's' });
    expect(streamStatusTrace({ name: 's' }, 'COMPLETE', 5)).toEqual({ type: 'TRACE', trace: { type: 'STREAM_STATUS', emitted_at: 5, stream_status: { stream_descriptor: { name: 's' }, status: 'COMPLETE' } } });
    expect(errorTrace('bad', 'config_error', undefined, 5)).toEqual({ type: 'TRACE', trace: { type: 'ERROR', emitted_at: 5, error: { message: 'bad', failure_type: 'config_error' } } });
  });
});
