/**
 * Masking for what an external connector says. Sluice never logs a child's config or environment, but a
 * child may: a tap that prints its settings at start-up, an error that quotes a connection string. Every
 * line of its stderr, every log message and every error text taken from it passes through a `Redact`
 * that replaces the secret values with `***`.
 *
 * The whole `config` and `env` of an external connector are secret (they usually hold credentials), so
 * every string in them of 4 characters or more is masked — shorter ones would match ordinary words by
 * chance. The same rule decides what the conformance suite counts as a leaked secret.
 */
export type Redact = (text: string) => string;

const MIN_SECRET_LENGTH = 4;
export const MASK = '***';

export function redactor(...secrets: readonly unknown[]): Redact {
  const values = new Set<string>();
  const collect = (value: unknown): void => {
    if (typeof value === 'string') {
      if (value.length < MIN_SECRET_LENGTH) return;
      values.add(value);
      // A child that prints its config as JSON shows quotes and backslashes escaped.
      const escaped = JSON.stringify(value).slice(1, -1);
      if (escaped !== value) values.add(escaped);
    } else if (Array.isArray(value)) value.forEach(collect);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(collect);
  };
  secrets.forEach(collect);
  // Longest first, so a secret that contains another is masked whole.
  const ordered = [...values].sort((a, b) => b.length - a.length);
  if (ordered.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const value of ordered) if (out.includes(value)) out = out.replaceAll(value, MASK);
    return out;
  };
}
