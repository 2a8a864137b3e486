import { describe, expect, it } from 'vitest';
import { parseConfigText } from './load.ts';
import { resolveConfig } from './resolve.ts';

const good = {
  sources: { orders: { type: 'file', path: 'orders.csv', format: 'csv' } },
  destinations: { api: { type: 'http', url: 'http://127.0.0.1:8787/ingest', batch_size: 500 } },
  activations: [{ name: 'orders_to_api', source: { $ref: '#/sources/orders' }, destination: { $ref: '#/destinations/api' }, schedule: null }],
};

describe('resolveConfig', () => {
  it('resolves a valid config into runnable activations with connector defaults applied', async () => {
    const resolved = await resolveConfig(good, {});
    expect(resolved.issues).toEqual([]);
    expect(resolved.activations).toHaveLength(1);
    const [activation] = resolved.activations;
    expect(activation!.destination.definition.id).toBe('http');
    expect(activation!.destination.config).toMatchObject({ url: 'http://127.0.0.1:8787/ingest', batch_size: 500, method: 'POST' });
  });

  it('accepts the Tightlock {label, value} wrapper', async () => {
    const resolved = await resolveConfig({ label: 'v1', value: good }, {});
    expect(resolved.issues).toEqual([]);
    expect(resolved.activations).toHaveLength(1);
  });

  it('reports every problem at once, each with its JSON path', async () => {
    const bad = {
      sources: { orders: { type: 'file', path: 'orders.csv', colour: 'red' }, other: { type: 'ftp' } },
      destinations: { api: { type: 'http', url: 'http://x', batch_size: 'lots' } },
      activations: [
        { name: 'a', source: { $ref: '#/sources/order' }, destination: { $ref: '#/destinations/api' } },
        { name: 'a', source: { $ref: '#/sources/orders' }, destination: { $ref: 'api' } },
      ],
    };
    const { issues } = await resolveConfig(bad, {});
    const paths = issues.map((issue) => issue.path);
    expect(paths).toContain('activations[1].destination.$ref');
    // The shape error stops before connector checks; fix it and the rest appear.
    bad.activations[1]!.destination.$ref = '#/destinations/api';
    const second = await resolveConfig(bad, {});
    const messages = second.issues.map((issue) => `${issue.path}: ${issue.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        'sources.orders.colour: unknown key',
        expect.stringMatching(/^sources\.other\.type: CONNECTOR_UNKNOWN: no source connector named "ftp"/),
        expect.stringMatching(/^destinations\.api\.batch_size: /),
        'activations[0].source.$ref: no source named "order"',
        'activations[1].name: duplicate activation name "a"',
      ]),
    );
  });

  it('passes the change-detection settings through, and checks them', async () => {
    const activation = { ...good.activations[0]!, sync_mode: 'upsert', primary_key: 'id', max_change_ratio: 0.25, on_schema_change: 'fail' };
    const resolved = await resolveConfig({ ...good, activations: [activation] }, {});
    expect(resolved.issues).toEqual([]);
    expect(resolved.activations[0]).toMatchObject({ syncMode: 'upsert', primaryKey: ['id'], maxChangeRatio: 0.25, onSchemaChange: 'fail' });
    const composite = await resolveConfig({ ...good, activations: [{ ...activation, primary_key: ['region', 'id'] }] }, {});
    expect(composite.activations[0]?.primaryKey).toEqual(['region', 'id']);
    const bad = await resolveConfig({ ...good, activations: [{ ...activation, primary_key: [], max_change_ratio: 1.5, on_schema_change: 'ignore' }] }, {});
    expect(bad.issues.map((issue) => issue.path).sort()).toEqual(['activations[0].max_change_ratio', 'activations[0].on_schema_change', 'activations[0].primary_key']);
  });

  it('substitutes ${VAR} and names the path of an unset one', async () => {
    const config = structuredClone(good) as typeof good & { destinations: { api: Record<string, unknown> } };
    config.destinations.api.url = '${API_URL}';
    config.destinations.api.headers = { Authorization: 'Bearer ${TOKEN}' };
    const ok = await resolveConfig(config, { API_URL: 'http://127.0.0.1:9/x', TOKEN: 't0k' });
    expect(ok.activations[0]!.destination.config).toMatchObject({ url: 'http://127.0.0.1:9/x', headers: { Authorization: 'Bearer t0k' } });
    const missing = await resolveConfig(config, { API_URL: 'http://127.0.0.1:9/x' });
    expect(missing.issues).toEqual([{ path: 'destinations.api.headers.Authorization', message: 'environment variable TOKEN is not set' }]);
  });
});

describe('parseConfigText', () => {
  it('names the line of a YAML syntax error', () => {
    expect(() => parseConfigText('sources:\n  a: [1, 2\nb: 3\n', 'bad.yaml')).toThrow(/bad\.yaml line \d+/);
  });
  it('names the file of a JSON syntax error', () => {
    expect(() => parseConfigText('{"sources": ', 'bad.json')).toThrow(/bad\.json/);
  });
});

describe('SLUICE_<TYPE>_<KEY> overrides', () => {
  const sftpConfig = {
    sources: { orders: { type: 'file', path: 'orders.csv', format: 'csv' } },
    destinations: { drop: { type: 'sftp', host: 'sftp.example.com', username: 'u', password: 'p', max_uploads: 2 } },
    activations: [{ name: 'orders_to_drop', source: { $ref: '#/sources/orders' }, destination: { $ref: '#/destinations/drop' } }],
  };

  it('override a destination type\'s settings, each parsed by its field\'s type', async () => {
    const resolved = await resolveConfig(sftpConfig, {
      SLUICE_SFTP_HOST: '127.0.0.1',
      SLUICE_SFTP_MAX_UPLOADS: '4',
      SLUICE_SFTP_GZIP: 'true',
      SLUICE_SFTP_COLUMNS: 'id, email',
      SLUICE_SFTP_PASSWORD: 'from-the-env-1234',
    });
    expect(resolved.issues).toEqual([]);
    expect(resolved.activations[0]!.destination.config).toMatchObject({ host: '127.0.0.1', max_uploads: 4, gzip: true, columns: ['id', 'email'], password: 'from-the-env-1234' });
    expect(resolved.secretValues).toEqual(['from-the-env-1234']);
  });

  it('names the variable when its value does not fit, and touches no other type', async () => {
    const resolved = await resolveConfig(sftpConfig, { SLUICE_SFTP_MAX_UPLOADS: 'many', SLUICE_HTTP_URL: 'http://elsewhere' });
    expect(resolved.issues).toEqual([{ path: 'destinations.drop.max_uploads', message: 'SLUICE_SFTP_MAX_UPLOADS: expected a number, got "many"' }]);
    const outOfRange = await resolveConfig(sftpConfig, { SLUICE_SFTP_MAX_UPLOADS: '99' });
    expect(outOfRange.issues.map((issue) => issue.path)).toEqual(['destinations.drop.max_uploads']);
  });
});
