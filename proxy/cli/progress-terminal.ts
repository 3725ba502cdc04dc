/**
 * `import` and `sync --once` on a terminal: one live line on stderr saying what is being done and how far it is
 * (pipeline/progress.ts), redrawn in place; a finished stage keeps its last line. Log lines go through writeLog, which
 * clears the live line, writes the log line and draws the live line again, so the two never mix.
 */
import { formatProgress, type Progress, type ProgressSink } from '../pipeline/progress.js';

export interface TerminalStream {
  write(text: string): unknown;
  readonly columns?: number | undefined;
}

const CLEAR_LINE = '\r\x1b[K';

export class ProgressTerminal implements ProgressSink {
  private current: Progress | undefined;
  private drawn = '';
  private lastDraw = 0;

  constructor(private readonly out: TerminalStream, private readonly now: () => number = Date.now, private readonly everyMs = 250) {}

  report(p: Progress): void {
    const prev = this.current;
    if (prev && (prev.fileName !== p.fileName || prev.stage !== p.stage)) this.endLine(prev);
    const changed = !prev || prev.fileName !== p.fileName || prev.stage !== p.stage;
    this.current = p;
    if (changed || this.now() - this.lastDraw >= this.everyMs) this.draw(p);
  }

  finish(fileName: string): void {
    if (this.current?.fileName !== fileName) return;
    this.endLine(this.current);
    this.current = undefined;
  }

  /** A log line (pino's destination): written above the live line. */
  writeLog(text: string): void {
    if (this.drawn) this.out.write(CLEAR_LINE);
    this.out.write(text);
    if (this.drawn) this.out.write(this.drawn);
  }

  private endLine(p: Progress): void {
    this.draw(p);
    this.out.write('\n');
    this.drawn = '';
  }

  private draw(p: Progress): void {
    // Cut to the terminal's width (a wrapped line could not be redrawn in place); 0 columns means unknown.
    const width = this.out.columns ? Math.max(this.out.columns - 1, 20) : Infinity;
    const text = formatProgress(p, this.now());
    this.drawn = text.length > width ? `${text.slice(0, width - 1)}…` : text;
    this.out.write(CLEAR_LINE + this.drawn);
    this.lastDraw = this.now();
  }
}

/** A progress terminal on stderr when it is a TTY, else undefined (progress then goes to the log). */
export function stderrProgressTerminal(): ProgressTerminal | undefined {
  return process.stderr.isTTY ? new ProgressTerminal(process.stderr) : undefined;
}
