/**
 * Timed work in a fresh Node process, as each peer (sftp, 7z, unzip) is one: the parent runs one of the *-child.js
 * scripts next to this module with its job as JSON in RP_BENCH_JOB; the child does the work, times it itself and
 * prints its result as JSON.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const JOB_ENV = 'RP_BENCH_JOB';
/** A job this long goes through a file named in RP_BENCH_JOB_FILE: Linux refuses one environment string over 128 KiB (E2BIG). */
const JOB_FILE_ENV = 'RP_BENCH_JOB_FILE';
const MAX_ENV_JOB = 64 * 1024;

/** Parent side: runs `script` (e.g. 'sftp-child.js') with `job`, on core `cpu` alone when given (`taskset`); resolves with what it printed. */
export async function runChildJob<Result>(script: string, job: unknown, cpu?: number): Promise<Result> {
  const path = fileURLToPath(new URL(`./${script}`, import.meta.url));
  const [cmd, args] = cpu === undefined ? [process.execPath, [path]] : ['taskset', ['-c', String(cpu), process.execPath, path]];
  const text = JSON.stringify(job);
  const dir = text.length > MAX_ENV_JOB ? await mkdtemp(join(tmpdir(), 'rp-bench-job-')) : undefined;
  try {
    const env = dir === undefined ? { ...process.env, [JOB_ENV]: text } : { ...process.env, [JOB_FILE_ENV]: join(dir, 'job.json') };
    if (dir !== undefined) await writeFile(join(dir, 'job.json'), text);
    const { stdout } = await run(cmd, args, { env, maxBuffer: 1024 * 1024 });
    return JSON.parse(stdout) as Result;
  } finally {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}

/** Child side: reads the job, runs `work` on it and prints the result; a failure goes to stderr with exit code 1. */
export function serveChildJob<Job, Result>(name: string, work: (job: Job) => Promise<Result>): void {
  Promise.resolve()
    .then(async () => {
      const file = process.env[JOB_FILE_ENV];
      return work(JSON.parse(file !== undefined ? await readFile(file, 'utf8') : (process.env[JOB_ENV] ?? '')) as Job);
    })
    .then(
      (result) => {
        process.stdout.write(JSON.stringify(result));
      },
      (err: unknown) => {
        process.stderr.write(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exitCode = 1;
      },
    );
}
