/**
 * Reading a config file: JSON or YAML (by extension, else by trying JSON first), bare or wrapped the way
 * Tightlock posts configs (`{"label": …, "value": {…}}`). Syntax errors name the file, line and column.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { SluiceError } from '../sdk/errors.ts';

export async function readConfigFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new SluiceError('CONFIG_INVALID', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseConfigText(text, path);
}

export function parseConfigText(text: string, name: string): unknown {
  if (name.endsWith('.json') || /^\s*[{[]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch (error) {
      if (name.endsWith('.json')) throw new SluiceError('CONFIG_INVALID', `${name}: ${(error as Error).message}`);
    }
  }
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const first = document.errors[0];
  if (first !== undefined) {
    const where = first.linePos?.[0];
    const at = where === undefined ? '' : ` line ${where.line}, column ${where.col}`;
    throw new SluiceError('CONFIG_INVALID', `${name}${at}: ${first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  return document.toJS();
}

/** Tightlock wraps posted configs as `{ label, value }`; accept both shapes. */
export function unwrapConfig(raw: unknown): unknown {
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const keys = Object.keys(raw);
    if ('value' in raw && keys.every((key) => key === 'label' || key === 'value')) return (raw as { value: unknown }).value;
  }
  return raw;
}
