// `npm test` after the build (dist/scripts/test-tiers.js): the three tiers in two vitest processes side by side, each
// with its own database (test/helpers/global-db.ts): "unit + integration" (plus MOVED_E2E) and "e2e". vitest runs
// every project that has `fileParallelism: false` in one sequential group, so in a single process the integration
// and e2e files would all run one after the other; two processes keep two files running at a time, one per core.
//
// Output: every line carries its lane's name; the summary at the end gives each lane's outcome and time. The run
// fails when either lane fails; a failing lane does not stop the other (every failure of the run is reported).
//
// TEST_LANES=1: one process (the default with fewer than two cores); TEST_LANES=2: two even then (a container whose
// CPU quota is below what the machine reports). Arguments (`npm test -- <filter>`) go to a single `vitest run <filter>`.
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism, constants } from 'node:os';
import { createInterface } from 'node:readline';

interface Lane { name: string; args: string[] }
interface Outcome { lane: Lane; code: number; signal: NodeJS.Signals | null; seconds: number }

const vitest = ['node_modules/vitest/vitest.mjs', 'run'];
const args = process.argv.slice(2);
const single = args.length > 0 || process.env.TEST_LANES === '1' || (process.env.TEST_LANES !== '2' && availableParallelism() < 2);
// e2e files that run in the first lane to even the two out: measured on 2 cores (2026-12-02), unit + integration took
// 692 s and e2e 1 273 s beside it, of which the retention crash suite 332 s; with it moved, 850 and 984 s.
const MOVED_E2E = ['test/e2e/retention-crash.test.ts'];
const lanes: Lane[] = single
  ? [{ name: 'all', args }]
  : [
      { name: 'unit+integration', args: ['--project', 'unit', '--project', 'integration', '--project', 'e2e', 'test/unit/', 'test/integration/', ...MOVED_E2E] },
      { name: 'e2e', args: ['--project', 'e2e', ...MOVED_E2E.flatMap((f) => ['--exclude', f])] },
    ];

const children = new Set<ChildProcess>();
let stoppedBy: NodeJS.Signals | undefined;

function signalLanes(signal: NodeJS.Signals): void {
  for (const child of children) {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) continue;
    try {
      // Two lanes: each is its own process group, so the signal reaches vitest's workers and what they started too.
      process.kill(single ? child.pid : -child.pid, signal);
    } catch {
      // already gone
    }
  }
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    stoppedBy ??= signal;
    // One lane shares our process group and terminal: a Ctrl-C has reached it already (vitest stops at once on a
    // second SIGINT, cutting its own clean-up short), a kill has not.
    if (single && signal === 'SIGINT') return;
    signalLanes(signal);
  });
}
// Should this process end while lanes still run (an exception), they go with it rather than run on unattended with
// their databases and servers. (A SIGKILL of this process cannot be handled: the lanes then finish on their own.)
// `laneGroups` holds only lanes not yet settled: a settled lane's group is killed and forgotten at once (run()), so no
// group id is signalled long after it was freed, when the number may belong to another process group.
const laneGroups = new Set<number>();
function killGroup(group: number): void {
  try {
    process.kill(-group, 'SIGKILL');
  } catch {
    // nobody left in it
  }
}
process.on('exit', () => {
  signalLanes('SIGKILL');
  for (const group of laneGroups) killGroup(group);
});
// A reader that went away (`npm test | head`): stop writing, keep the lanes' exit codes.
let outputOpen = true;
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => { outputOpen = false; });
const write = (stream: NodeJS.WriteStream, text: string) => {
  if (outputOpen) stream.write(text);
};

/**
 * The colours a lane's vitest should use: what the user set, else as our own output would get them (a terminal:
 * colours; a CI log: vitest's own choice, colours; a file: none).
 */
function colourEnv(): NodeJS.ProcessEnv {
  if (process.env.FORCE_COLOR !== undefined || process.env.NO_COLOR !== undefined) return process.env;
  if (process.stdout.isTTY) return { ...process.env, FORCE_COLOR: '1' };
  return process.env.CI ? process.env : { ...process.env, NO_COLOR: '1' };
}

/** Runs one lane; resolves to its exit code (1 when it ended by a signal) and duration (until vitest exited). */
function run(lane: Lane): Promise<Outcome> {
  const started = Date.now();
  // One lane: vitest as if run directly (its own terminal output). Two: each writes into a pipe, its lines prefixed.
  const child = single
    ? spawn(process.execPath, [...vitest, ...lane.args], { stdio: 'inherit' })
    : spawn(process.execPath, [...vitest, ...lane.args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: colourEnv() });
  children.add(child);
  const group = !single && child.pid !== undefined ? child.pid : undefined;
  if (group !== undefined) laneGroups.add(group);
  const prefix = `[${lane.name}] `;
  if (child.stdout) createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => write(process.stdout, `${prefix}${line}\n`));
  if (child.stderr) createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => write(process.stderr, `${prefix}${line}\n`));
  return new Promise((resolve) => {
    let settled = false;
    let exitedAt: number | undefined;
    const done = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      children.delete(child);
      if (group !== undefined) {
        // Anything the lane left in its group (a server a test did not stop, what kept the pipes open) goes now, while
        // its members hold the group id or within 5 s of the last one leaving (too soon for the id to be reused); then
        // the group is forgotten.
        killGroup(group);
        laneGroups.delete(group);
      }
      // Nothing of the lane may keep this process alive once it is settled.
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({ lane, code: code ?? 1, signal, seconds: Math.round(((exitedAt ?? Date.now()) - started) / 1000) });
    };
    child.on('error', (err) => {
      write(process.stderr, `${prefix}could not start vitest: ${err.message}\n`);
      done(1, null);
    });
    // 'close' comes once the lane's pipes are drained too; a process it left behind holding them open must not keep
    // the run waiting, so 'exit' settles it a few seconds later at the latest.
    child.on('close', done);
    child.on('exit', (code, signal) => {
      exitedAt = Date.now();
      setTimeout(() => done(code, signal), 5_000).unref();
    });
  });
}

const results = await Promise.all(lanes.map(run));
if (!single) {
  write(process.stdout, '\ntest lanes:\n');
  for (const r of results) {
    const outcome = r.signal ? `ENDED BY ${r.signal}` : r.code === 0 ? 'passed' : `FAILED (exit ${r.code})`;
    write(process.stdout, `  ${r.lane.name.padEnd(18)} ${outcome} in ${r.seconds} s\n`);
  }
}
process.exitCode = stoppedBy ? 128 + constants.signals[stoppedBy] : results.some((r) => r.code !== 0) ? 1 : 0;
