/**
 * One timed download for bench/sftp.ts, in a fresh Node process (as the peer, OpenSSH `sftp`, is one): connect,
 * download, close, measured from the connect on; prints {seconds, sha256, chunkSize} as JSON. The job comes as JSON
 * in RP_BENCH_SFTP_JOB, the private key from a file.
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { openSftp } from '../proxy/sftp/connect.js';

export interface SftpChildJob {
  host: string;
  port: number;
  username: string;
  privateKeyPath: string;
  hostKeyFingerprint: string;
  cipher: string;
  remotePath: string;
  size: number;
  dest: string;
  concurrency: number;
}

export interface SftpChildResult {
  seconds: number;
  sha256: string;
  chunkSize: number;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.env.RP_BENCH_SFTP_JOB ?? '') as SftpChildJob;
  const privateKey = readFileSync(job.privateKeyPath, 'utf8');
  const started = process.hrtime.bigint();
  const session = await openSftp(
    { host: job.host, port: job.port, username: job.username, privateKey, hostKeyFingerprint: job.hostKeyFingerprint, algorithms: { cipher: [job.cipher] } },
    pino({ level: 'warn' }),
  );
  try {
    const result = await session.download({
      remotePath: job.remotePath, partPath: `${job.dest}.part`, finalPath: job.dest, expectedSize: job.size, resumeFrom: 0,
      concurrency: job.concurrency, onCheckpoint: async () => {},
    });
    const out: SftpChildResult = { seconds: Number(process.hrtime.bigint() - started) / 1e9, sha256: result.sha256, chunkSize: session.maxReadLen ?? 0 };
    process.stdout.write(JSON.stringify(out));
  } finally {
    await session.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`sftp bench child failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
