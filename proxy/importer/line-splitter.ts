/**
 * Streaming line splitter for one-document-per-line files (mongoexport's default output): fed byte chunks, it returns
 * each non-blank line with its 1-based line number. Accepts LF and CRLF endings, a UTF-8 byte order mark and a missing
 * final newline. Splits on bytes, so a multi-byte UTF-8 character cut by a chunk boundary is decoded whole.
 */

const LF = 0x0a;
const CR = 0x0d;

export interface Line {
  readonly text: string;
  /** 1-based line number in the file. */
  readonly line: number;
}

export class LineSplitter {
  private pending: Buffer[] = [];
  private lineNo = 0;
  private bomChecked = false;

  push(chunk: Buffer): Line[] {
    const out: Line[] = [];
    let start = 0;
    if (!this.bomChecked && chunk.length > 0) {
      this.bomChecked = true;
      if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) start = 3;
    }
    let nl = chunk.indexOf(LF, start);
    while (nl !== -1) {
      this.lineNo++;
      let text: string;
      if (this.pending.length > 0) {
        this.pending.push(chunk.subarray(start, nl));
        text = decodeLine(Buffer.concat(this.pending), 0, undefined);
        this.pending = [];
      } else {
        text = decodeLine(chunk, start, nl);
      }
      if (!isBlank(text)) out.push({ text, line: this.lineNo });
      start = nl + 1;
      nl = chunk.indexOf(LF, start);
    }
    if (start < chunk.length) this.pending.push(chunk.subarray(start));
    return out;
  }

  /** The last line when the file does not end with a newline. */
  end(): Line[] {
    if (this.pending.length === 0) return [];
    const text = decodeLine(Buffer.concat(this.pending), 0, undefined);
    this.pending = [];
    this.lineNo++;
    return isBlank(text) ? [] : [{ text, line: this.lineNo }];
  }
}

function decodeLine(buf: Buffer, start: number, end: number | undefined): string {
  let stop = end ?? buf.length;
  if (stop > start && buf[stop - 1] === CR) stop--;
  return buf.toString('utf8', start, stop);
}

function isBlank(text: string): boolean {
  if (text.length === 0) return true;
  const first = text.charCodeAt(0);
  // Fast path: a record line starts with '{'.
  return (first === 0x20 || first === 0x09 || first === 0x0d) && text.trim().length === 0;
}
