/**
 * The one registry of connectors. Each entry is a lazy import, so starting `sluice` loads only the
 * connectors a config uses. registry.test.ts keeps this list, the connector folders and their READMEs
 * in step.
 */
import type { DestinationDefinition } from '../sdk/destination.ts';
import type { SourceDefinition } from '../sdk/source.ts';
import { SluiceError } from '../sdk/errors.ts';

type Loader<T> = () => Promise<{ default: T }>;

export const sourceLoaders: Readonly<Record<string, Loader<SourceDefinition>>> = {
  'airbyte-source': () => import('./sources/airbyte-source/index.ts'),
  events: () => import('./sources/events/index.ts'),
  file: () => import('./sources/file/index.ts'),
  mysql: () => import('./sources/mysql/index.ts'),
  postgres: () => import('./sources/postgres/index.ts'),
  'singer-tap': () => import('./sources/singer-tap/index.ts'),
};

export const destinationLoaders: Readonly<Record<string, Loader<DestinationDefinition>>> = {
  'airbyte-destination': () => import('./destinations/airbyte-destination/index.ts'),
  file: () => import('./destinations/file/index.ts'),
  ga4: () => import('./destinations/ga4/index.ts'),
  http: () => import('./destinations/http/index.ts'),
  'marketo-bulk': () => import('./destinations/marketo-bulk/index.ts'),
  pendo: () => import('./destinations/pendo/index.ts'),
  postgres: () => import('./destinations/postgres/index.ts'),
  sftp: () => import('./destinations/sftp/index.ts'),
  'singer-target': () => import('./destinations/singer-target/index.ts'),
};

export type ConnectorKind = 'source' | 'destination';

export async function loadSource(type: string): Promise<SourceDefinition> {
  const loader = Object.hasOwn(sourceLoaders, type) ? sourceLoaders[type] : undefined;
  if (loader === undefined) throw unknown('source', type, Object.keys(sourceLoaders));
  return (await loader()).default;
}

export async function loadDestination(type: string): Promise<DestinationDefinition> {
  const loader = Object.hasOwn(destinationLoaders, type) ? destinationLoaders[type] : undefined;
  if (loader === undefined) throw unknown('destination', type, Object.keys(destinationLoaders));
  return (await loader()).default;
}

export function loadConnector(kind: ConnectorKind, type: string): Promise<SourceDefinition | DestinationDefinition> {
  return kind === 'source' ? loadSource(type) : loadDestination(type);
}

function unknown(kind: ConnectorKind, type: string, known: string[]): SluiceError {
  return new SluiceError('CONNECTOR_UNKNOWN', `no ${kind} connector named "${type}" (known: ${known.join(', ')})`);
}
