/**
 * `sluice/sdk` — everything a connector author imports. See docs/connector-contract.md for the contract.
 */
export { defineSource } from './source.ts';
export type { SourceDefinition, SourceMessage, StreamDescriptor, ConfiguredStream, ReadRequest, State, Origin, SourceSyncMode } from './source.ts';
export { defineDestination, isStreamingObject } from './destination.ts';
export type {
  DestinationDefinition,
  DestinationObject,
  StreamingObject,
  BulkObject,
  BulkFile,
  BulkFileSettings,
  BulkPoll,
  OutgoingRecord,
  WriteContext,
  BatchLimits,
  RateLimits,
  DestinationSyncMode,
} from './destination.ts';
export { delivered, rejected, retry, allOutcomes } from './outcome.ts';
export type { Outcome } from './outcome.ts';
export { SluiceError, classifyHttpStatus, describeError, ERROR_CODES } from './errors.ts';
export type { ErrorCode, RetryClass } from './errors.ts';
export { field, secret, specToJsonSchema, parseConfig } from './spec.ts';
export type { FieldMeta, JsonSchema, ConfigIssue } from './spec.ts';
export { parseRetryAfter, outcomeForHttpResponse, outcomeForNetworkError, excerpt, readBodyCapped } from './http.ts';
export { defaultContext, silentLogger } from './context.ts';
export type { ConnectorContext, CheckResult, Logger } from './context.ts';
export { parseJson, stringifyJson, ExactDecimal } from '../protocol/json.ts';
export type { JsonObject, JsonValue } from '../protocol/json.ts';
