/**
 * Streaming splitter for one top-level JSON array (`mongoexport --jsonArray`, possibly pretty-printed):
 * fed byte chunks, it returns the source text of each complete element, never holding more than the element being
 * read. It only tracks strings, escapes and nesting depth; each element's own syntax is checked by its parser.
 * Works on bytes: every structural character is ASCII and UTF-8 continuation bytes are >= 0x80, so multi-byte
 * characters never confuse it, even when a chunk boundary splits one.
 */

const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACKET = 0x5d; // ]
const OPEN_BRACE = 0x7b; // {
const CLOSE_BRACE = 0x7d; // }
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export class JsonSplitError extends Error {
  /** 1-based number of the element being read when the problem was found (0: before the first one). */
  readonly element: number;
  constructor(message: string, element: number) {
    super(message);
    this.name = 'JsonSplitError';
    this.element = element;
  }
}

export function isJsonWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

type State = 'start' | 'beforeElement' | 'afterElement' | 'inElement' | 'done';

export class JsonArraySplitter {
  private state: State = 'start';
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Pieces of the element being read that arrived in earlier chunks. */
  private pending: Buffer[] = [];
  private elements = 0;
  private sawComma = false;
  private bomChecked = false;

  /** Number of complete elements returned so far. */
  get count(): number {
    return this.elements;
  }

  /** Feeds the next chunk; returns the text of every element completed in it. Throws JsonSplitError. */
  push(chunk: Buffer): string[] {
    const out: string[] = [];
    let i = 0;
    if (!this.bomChecked && chunk.length > 0) {
      this.bomChecked = true;
      if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) i = 3;
    }
    let elementStart = this.state === 'inElement' ? 0 : -1;
    const n = chunk.length;
    while (i < n) {
      const b = chunk[i] as number;
      switch (this.state) {
        case 'inElement': {
          // Hot loop: scan the element's bytes.
          for (; i < n; i++) {
            const c = chunk[i] as number;
            if (this.inString) {
              if (this.escaped) this.escaped = false;
              else if (c === BACKSLASH) this.escaped = true;
              else if (c === QUOTE) this.inString = false;
            } else if (c === QUOTE) {
              this.inString = true;
            } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
              this.depth++;
            } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
              if (this.depth === 0) {
                // A scalar element ended by the array's closing bracket.
                out.push(this.take(chunk, elementStart, i));
                this.state = 'afterElement';
                break;
              }
              this.depth--;
              if (this.depth === 0) {
                out.push(this.take(chunk, elementStart, i + 1));
                this.state = 'afterElement';
                i++;
                break;
              }
            } else if (this.depth === 0 && (c === COMMA || isJsonWhitespace(c))) {
              // A scalar element (number, true, ...) ended.
              out.push(this.take(chunk, elementStart, i));
              this.state = 'afterElement';
              break;
            }
          }
          if (this.state === 'inElement') this.pending.push(chunk.subarray(elementStart, n));
          continue;
        }
        case 'start':
          if (b === OPEN_BRACKET) this.state = 'beforeElement';
          else if (!isJsonWhitespace(b)) throw new JsonSplitError(`expected '[' but found ${describe(b)}`, 0);
          break;
        case 'beforeElement':
          if (b === CLOSE_BRACKET) {
            if (this.sawComma) throw new JsonSplitError(`trailing comma before ']'`, this.elements);
            this.state = 'done';
          } else if (b === COMMA) {
            throw new JsonSplitError(`unexpected ','`, this.elements + 1);
          } else if (!isJsonWhitespace(b)) {
            this.state = 'inElement';
            this.depth = 0;
            this.inString = false;
            this.escaped = false;
            elementStart = i;
            continue; // let the element loop see this byte
          }
          break;
        case 'afterElement':
          if (b === COMMA) {
            this.state = 'beforeElement';
            this.sawComma = true;
          } else if (b === CLOSE_BRACKET) {
            this.state = 'done';
          } else if (!isJsonWhitespace(b)) {
            throw new JsonSplitError(`expected ',' or ']' after element but found ${describe(b)}`, this.elements);
          }
          break;
        case 'done':
          if (!isJsonWhitespace(b)) throw new JsonSplitError(`unexpected ${describe(b)} after the closing ']'`, this.elements);
          break;
      }
      i++;
    }
    return out;
  }

  /** Call at end of input; throws when the array is not complete. */
  end(): void {
    if (this.state !== 'done') {
      throw new JsonSplitError(
        this.state === 'start' ? 'no JSON array found' : 'file ends before the closing ]',
        this.state === 'inElement' ? this.elements + 1 : this.elements,
      );
    }
  }

  private take(chunk: Buffer, start: number, end: number): string {
    this.elements++;
    this.sawComma = false;
    if (this.pending.length === 0) return chunk.toString('utf8', start, end);
    this.pending.push(chunk.subarray(start, end));
    const text = Buffer.concat(this.pending).toString('utf8');
    this.pending = [];
    return text;
  }
}

function describe(byte: number): string {
  return byte >= 0x20 && byte < 0x7f ? `'${String.fromCharCode(byte)}'` : `byte 0x${byte.toString(16).padStart(2, '0')}`;
}
