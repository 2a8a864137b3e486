/**
 * Finds the elements of a top-level JSON array in a stream of text chunks without parsing them: it tracks
 * only strings, escapes and bracket depth, and hands each element's text (with the line it starts on) to a
 * sink, which parses it. So a file of any size is read in constant memory, and a malformed element spoils
 * only itself. An element longer than MAX_ELEMENT_CHARS is reported and skipped, not buffered.
 *
 * A file that does not start with `[` is not an array at all: that throws a `JsonShapeError`. Text after
 * the closing `]`, and a file that ends inside the array, are reported as malformed.
 */

const LF = 10;
const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;

export const MAX_ELEMENT_CHARS = 16 * 1024 * 1024;

export interface JsonElementSink {
  element(text: string, line: number): void;
  malformed(line: number, problem: string, raw: string): void;
}

export class JsonShapeError extends Error {
  override readonly name = 'JsonShapeError';
  readonly line: number;
  constructor(line: number, message: string) {
    super(message);
    this.line = line;
  }
}

const BEFORE = 0;
const INSIDE = 1;
const AFTER = 2;
const IGNORING = 3;

function indexOrEnd(text: string, search: string, from: number): number {
  const at = text.indexOf(search, from);
  return at === -1 ? text.length : at;
}

function isSpace(code: number): boolean {
  return code === 32 || code === LF || code === 13 || code === 9;
}

export class JsonArraySplitter {
  private readonly sink: JsonElementSink;
  private readonly maxElementChars: number;
  private phase = BEFORE;
  private line = 1;
  /** Bracket depth inside the current element (0 between elements). */
  private depth = 0;
  private inString = false;
  private escaped = false;
  private inElement = false;
  private elementLine = 0;
  /** The current element's text from earlier chunks. */
  private partial = '';
  /** Set when the current element outgrew MAX_ELEMENT_CHARS: it is scanned through but not kept. */
  private oversized = false;

  constructor(sink: JsonElementSink, maxElementChars = MAX_ELEMENT_CHARS) {
    this.sink = sink;
    this.maxElementChars = maxElementChars;
  }

  write(text: string): void {
    if (this.phase === IGNORING) return;
    const length = text.length;
    // State lives in locals during the scan (the hot loop) and is stored back at the end.
    let line = this.line;
    let depth = this.depth;
    let inString = this.inString;
    let escaped = this.escaped;
    let elementStart = this.inElement ? 0 : -1;
    // Next positions of '"', '\\' and LF at or after the scan, found once and reused until passed.
    let nextQuote = -1;
    let nextBackslash = -1;
    let nextLF = -1;
    let i = 0;
    while (i < length) {
      if (inString) {
        if (escaped) {
          escaped = false;
          if (text.charCodeAt(i) === LF) line++;
          i++;
          continue;
        }
        // Jump to the string's next quote or backslash instead of stepping through its characters.
        if (nextQuote < i) nextQuote = indexOrEnd(text, '"', i);
        if (nextBackslash < i) nextBackslash = indexOrEnd(text, '\\', i);
        const stop = nextQuote < nextBackslash ? nextQuote : nextBackslash;
        // Raw line breaks in strings are invalid JSON, but later line numbers must stay right.
        if (nextLF < i) nextLF = indexOrEnd(text, '\n', i);
        while (nextLF < stop) {
          line++;
          nextLF = indexOrEnd(text, '\n', nextLF + 1);
        }
        if (stop === length) break;
        if (stop === nextQuote) inString = false;
        else escaped = true;
        i = stop + 1;
        continue;
      }
      const c = text.charCodeAt(i++);
      if (c === LF) {
        line++;
        continue;
      }
      if (depth > 0) {
        if (c === QUOTE) inString = true;
        else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
        else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
        continue;
      }
      if (isSpace(c)) continue;
      if (this.phase === INSIDE) {
        if (c === COMMA || c === CLOSE_BRACKET) {
          if (this.inElement) this.finishElement(text, elementStart, i - 1);
          else if (c === COMMA) this.sink.malformed(line, 'empty array element (two commas in a row?)', ',');
          elementStart = -1;
          if (c === CLOSE_BRACKET) this.phase = AFTER;
          continue;
        }
        if (!this.inElement) {
          this.inElement = true;
          this.elementLine = line;
          elementStart = i - 1;
        }
        if (c === QUOTE) inString = true;
        else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
        continue;
      }
      if (this.phase === BEFORE) {
        if (c !== OPEN_BRACKET) {
          throw new JsonShapeError(line, 'expected a JSON array of objects ([{…}, {…}]); for one object per line use format jsonl');
        }
        this.phase = INSIDE;
        continue;
      }
      // After the closing ]: every element is read; trailing text is reported once, the rest ignored.
      const lf = text.indexOf('\n', i);
      this.sink.malformed(line, 'unexpected text after the closing ]', text.slice(i - 1, lf === -1 ? length : lf));
      this.phase = IGNORING;
      break;
    }
    this.line = line;
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    if (this.inElement && !this.oversized) {
      this.partial += text.slice(elementStart);
      if (this.partial.length > this.maxElementChars) {
        this.sink.malformed(this.elementLine, `the array element is longer than ${this.maxElementChars} characters`, this.partial);
        this.partial = '';
        this.oversized = true;
      }
    }
  }

  /** The input is complete. A file that ends inside the array reports its unfinished element. */
  end(): void {
    if (this.phase !== INSIDE) return;
    const raw = this.inElement && !this.oversized ? this.partial : '';
    this.sink.malformed(this.inElement ? this.elementLine : this.line, 'the file ends before the array is closed with ]', raw);
    this.reset();
  }

  private finishElement(text: string, start: number, end: number): void {
    if (!this.oversized) this.sink.element(this.partial + text.slice(start, end), this.elementLine);
    this.reset();
  }

  private reset(): void {
    this.inElement = false;
    this.oversized = false;
    this.partial = '';
  }
}
