/**
 * The names a new connector goes by, all derived from its id: `acme_crm` → title `Acme Crm`, type names
 * `AcmeCrm…`, variables `acmeCrm…`, environment variables `ACME_CRM_…`. Ids are snake_case, as config
 * keys are, so they can be typed in a config without quoting.
 */
export interface ConnectorNames {
  readonly id: string;
  readonly title: string;
  readonly pascal: string;
  readonly camel: string;
  readonly env: string;
}

const ID = /^[a-z][a-z0-9_]*$/;

/** Names for an id; throws with a message that says what a valid id looks like. */
export function namesFor(id: string): ConnectorNames {
  if (!ID.test(id) || id.endsWith('_') || id.includes('__')) {
    throw new Error(`"${id}" is not a connector id: use lower-case letters, digits and single underscores, starting with a letter (e.g. acme_crm)`);
  }
  const words = id.split('_');
  const capitalized = words.map((word) => word.charAt(0).toUpperCase() + word.slice(1));
  const pascal = capitalized.join('');
  return { id, title: capitalized.join(' '), pascal, camel: pascal.charAt(0).toLowerCase() + pascal.slice(1), env: id.toUpperCase() };
}

/** Fill a template's placeholders: `__id__`, `__Title__`, `__Pascal__`, `__camel__`, `__ENV__`. */
export function fill(template: string, names: ConnectorNames): string {
  return template
    .replaceAll('__id__', names.id)
    .replaceAll('__Title__', names.title)
    .replaceAll('__Pascal__', names.pascal)
    .replaceAll('__camel__', names.camel)
    .replaceAll('__ENV__', names.env);
}
