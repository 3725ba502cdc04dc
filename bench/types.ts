/** One line of the benchmark table. `ratio` is always "ours relative to the peer, higher is better". */
export interface BenchRow {
  readonly group: string;
  readonly name: string;
  /** What was measured for us, e.g. "412 MiB/s". */
  readonly ours: string;
  /** What was measured for the peer in the same run, e.g. "398 MiB/s (OpenSSH sftp)". */
  readonly peer: string;
  readonly ratio: number | null;
  /** Target as text, e.g. ">= 1.0x" or "<= 300 MiB". */
  readonly target: string;
  readonly pass: boolean;
  /** Raw numbers for bench/results/*.json. */
  readonly raw: Readonly<Record<string, number | string>>;
}

export interface BenchContext {
  /** Scratch directory on the same disk as the staging directory; removed afterwards. */
  readonly workDir: string;
  /** Scale factor from BENCH_SCALE (default 1); sizes below are multiplied by it. */
  readonly scale: number;
  readonly log: (msg: string) => void;
}
