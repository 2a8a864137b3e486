/**
 * Answers of GA4's validation endpoint (`/debug/mp/collect`): `{ "validationMessages": [ { fieldPath,
 * description, validationCode } ] }`, an empty list when the request is valid
 * (https://developers.google.com/analytics/devguides/collection/protocol/ga4/validating-events).
 *
 * A message is pinned on one event when it says which: by its field path (`events[2].params.value`) or, as
 * in Google's own example, by its description (fieldPath `events`, "Event at index: [0] has invalid name
 * [_badEventName]. …"). A message that names no event (`client_id`, `user_properties`, the body) concerns
 * the whole request, and so every event in it.
 */

export interface ValidationMessage {
  readonly fieldPath: string;
  readonly description: string;
  readonly validationCode: string;
}

/** The messages of a validation answer, or undefined when the text is not one. */
export function parseValidationMessages(text: string): ValidationMessage[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const list = (parsed as { validationMessages?: unknown }).validationMessages;
  if (list === undefined) return [];
  if (!Array.isArray(list)) return undefined;
  return list.map((item) => {
    const { fieldPath, description, validationCode } = (item ?? {}) as Record<string, unknown>;
    return {
      fieldPath: typeof fieldPath === 'string' ? fieldPath : '',
      description: typeof description === 'string' ? description : '',
      validationCode: typeof validationCode === 'string' ? validationCode : 'UNKNOWN',
    };
  });
}

/** The position (in the request's `events`) of the event a message is about, if it names one. */
export function eventIndexOf(message: ValidationMessage): number | undefined {
  const byPath = /^events\[(\d+)\]/.exec(message.fieldPath);
  if (byPath !== null) return Number(byPath[1]);
  const byDescription = /\bEvent at index: \[(\d+)\]/i.exec(message.description);
  return byDescription === null ? undefined : Number(byDescription[1]);
}

export function describeMessage(message: ValidationMessage): string {
  const where = message.fieldPath === '' ? '' : ` at ${message.fieldPath}`;
  return `GA4 validation ${message.validationCode}${where}: ${message.description || '(no description)'}`;
}

export interface Verdict {
  /** Why each faulty event (by position in the request) is rejected. */
  readonly events: ReadonlyMap<number, string>;
  /** Set when a message concerns the whole request: every event is rejected with it. */
  readonly request: string | undefined;
}

export function verdictOf(messages: readonly ValidationMessage[], eventCount: number): Verdict {
  const events = new Map<number, string[]>();
  const whole: string[] = [];
  for (const message of messages) {
    const index = eventIndexOf(message);
    if (index === undefined || index >= eventCount) whole.push(describeMessage(message));
    else events.set(index, [...(events.get(index) ?? []), describeMessage(message)]);
  }
  return {
    events: new Map([...events].map(([index, reasons]) => [index, reasons.join('; ')])),
    request: whole.length === 0 ? undefined : whole.join('; '),
  };
}
