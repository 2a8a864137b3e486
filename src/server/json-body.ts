/**
 * The API's JSON body parser. Numbers stay exact (configs and states may hold integers beyond 2^53, as
 * everywhere in Sluice), a `__proto__` or `constructor.prototype` key is refused (the objects are later
 * copied key by key), an empty body counts as no body, and malformed JSON is a 400 carrying the parser's
 * message (as `error` and as the one issue, at `body`) — with its position but without the excerpt of the
 * input that V8 may add, since the body can hold secrets.
 */
import type { FastifyInstance } from 'fastify';
import { LosslessNumber, parseJson } from '../protocol/json.ts';
import { invalid } from './errors.ts';

export function installJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => {
    try {
      done(null, parseBody(text as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

export function parseBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = parseJson(text);
  } catch (error) {
    throw malformed(parserMessage(error));
  }
  if (/"(?:__proto__|constructor)"/.test(text)) refusePoisonedKeys(value);
  return value;
}

function malformed(why: string) {
  return invalid(`malformed JSON body: ${why}`, [{ path: 'body', message: why }]);
}

/** `Unexpected token 'x', ..."a": x}" is not valid JSON` → `Unexpected token 'x'`. */
function parserMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/, (?:\.\.\.)?".*" is not valid JSON$/s, '').slice(0, 200);
}

function refusePoisonedKeys(value: unknown): void {
  if (value === null || typeof value !== 'object' || value instanceof LosslessNumber) return;
  if (Array.isArray(value)) {
    for (const item of value) refusePoisonedKeys(item);
    return;
  }
  // A parser that assigned `__proto__` instead of defining it leaves a changed prototype behind.
  if (Object.getPrototypeOf(value) !== Object.prototype) throw malformed('the key "__proto__" is not allowed');
  for (const [key, item] of Object.entries(value)) {
    if (key === '__proto__' || (key === 'constructor' && item !== null && typeof item === 'object' && Object.hasOwn(item, 'prototype'))) {
      throw malformed(`the key "${key}" is not allowed`);
    }
    refusePoisonedKeys(item);
  }
}
