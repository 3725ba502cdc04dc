/**
 * One timed download for bench/sftp.ts in a fresh Node process (child-job.ts), as the peer, OpenSSH `sftp`, is one:
 * connect, download, close, measured from the connect on. The private key comes from a file.
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { openSftp } from '../proxy/sftp/connect.js';
import { serveChildJob } from './child-job.js';

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

serveChildJob<SftpChildJob, SftpChildResult>('sftp bench child', async (job) => {
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
    return { seconds: Number(process.hrtime.bigint() - started) / 1e9, sha256: result.sha256, chunkSize: session.maxReadLen ?? 0 };
  } finally {
    await session.close();
  }
});
