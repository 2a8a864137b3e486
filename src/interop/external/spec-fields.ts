/**
 * The config fields every external connector has: the command to run, the connector's own config and
 * extra environment variables. Shared so the four external connectors describe them the same way.
 */
import { z } from 'zod';
import { field } from '../../sdk/spec.ts';

export function commandField(examples: readonly (readonly string[])[]) {
  return field(z.array(z.string().min(1)).min(1), {
    description:
      'The program to run and its arguments, one list item each (no shell is involved, so nothing needs quoting). Sluice appends the protocol arguments itself, such as `--config <file>`.',
    examples,
  });
}

/** The connector's own config; `noun` is what users call the program: tap, target, connector. */
export function connectorConfigField(noun: 'tap' | 'target' | 'connector') {
  const plural = `${noun}s`;
  return field(z.record(z.string(), z.unknown()).default({}), {
    description: `The ${noun}'s own settings, exactly as its documentation describes them. Sluice writes them to a private temporary file (readable only by its user, removed afterwards) and passes it as \`--config\`. Kept secret, since ${plural} keep credentials here.`,
    secret: true,
  });
}

export const envField = field(z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a variable name: letters, digits and _, not starting with a digit'), z.string()).default({}), {
  description:
    'Extra environment variables for the program, on top of those Sluice runs with. Kept secret: values are never shown or logged, and are masked in what the program prints.',
  examples: [{ GITHUB_TOKEN: '${GITHUB_TOKEN}' }],
  secret: true,
});

/** The config fields above, as the helpers below use them. */
export interface ExternalConfig {
  readonly command: readonly string[];
  readonly config: Readonly<Record<string, unknown>>;
  readonly env: Readonly<Record<string, string>>;
}
