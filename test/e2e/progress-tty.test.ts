/**
 * Progress on long work (issue 11, item 14), with the built CLI: `sync --once` on a real terminal (a pseudo-terminal
 * from util-linux `script`) keeps a live line on stderr for every stage; without a terminal the same progress goes to
 * the log as `component: "progress"` lines and no terminal control codes are written.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLI, cleanEnv, runCli } from '../helpers/cli.js';
import { startSim, writeProxyConfig, type ProxySetup, type SimHandle } from '../helpers/scenario.js';

const run = promisify(execFile);

describe('progress of sync --once', () => {
  let h: SimHandle;
  const setups: ProxySetup[] = [];

  beforeAll(async () => {
    h = await startSim();
    await h.sim.publishDay({ date: new Date(Date.UTC(2026, 10, 1, 3)), records: 2000, mediaBytes: 4 * 1024 * 1024 });
  });
  afterAll(async () => {
    await h?.sim.close();
    const client = await MongoClient.connect(inject('mongoUri'));
    try {
      for (const s of setups) await client.db(s.dbName).dropDatabase();
    } finally {
      await client.close();
    }
    for (const s of setups) await rm(s.dir, { recursive: true, force: true });
    if (h) await rm(h.dir, { recursive: true, force: true });
  });

  it('on a terminal: one live line per stage (download, extract, verify, import) with totals and rates', async () => {
    const setup = await writeProxyConfig(h, { siteId: 'e2e-tty', dbName: `e2e_tty_${Date.now().toString(36)}` });
    setups.push(setup);
    // script gives the command a pseudo-terminal as stdin, stdout and stderr and copies what it writes to our stdout.
    const command = `stty cols 200 rows 40; ${process.execPath} ${CLI} sync --once --log-level warn --config ${setup.configPath}`;
    const { stdout } = await run('script', ['-qefc', command, '/dev/null'], { env: cleanEnv(), timeout: 240_000, maxBuffer: 64 * 1024 * 1024 });
    const lines = stdout.replaceAll('\r\x1b[K', '\n').split(/\r?\n/).filter((l) => l.startsWith('backup_'));
    const stage = (name: string): string[] => lines.filter((l) => l.split('  ')[1] === name);
    expect(stage('download').at(-1)).toMatch(/ download {2}(\d+\.\d)\/\1 MiB \(100%\) {2}\d+\.\d MiB\/s$/);
    expect(stage('extract').at(-1)).toMatch(/ extract {2}(\d+)\/\1 entries {2}(\d+\.\d)\/\2 MiB \(100%\) {2}\d+\.\d MiB\/s$/);
    expect(stage('verify').length).toBeGreaterThan(0);
    expect(stage('import').at(-1)).toMatch(/ import {2}(\d+)\/\1 records \(100%\) {2}(\d+)\/\2 files {2}\d+ records\/s$/);
    expect(stdout).toContain('\r\x1b[K');
    expect(stdout).toMatch(/reported +backup_/); // the summary on stdout
  });

  it('without a terminal: the same progress as log lines, and no terminal control codes', async () => {
    const setup = await writeProxyConfig(h, { siteId: 'e2e-notty', dbName: `e2e_notty_${Date.now().toString(36)}` });
    setups.push(setup);
    const res = await runCli(['sync', '--once', '--config', setup.configPath]);
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    expect(res.stderr).not.toContain('\x1b[');
    const progress = res.logs.filter((l) => l.component === 'progress');
    expect([...new Set(progress.map((l) => l.stage))]).toEqual(['download', 'extract', 'verify', 'import']);
    expect(progress.find((l) => l.stage === 'import')).toMatchObject({ records: 0, totalRecords: expect.any(Number) as unknown });
  });
});
