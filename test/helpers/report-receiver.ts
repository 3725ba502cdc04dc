import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StatusReport } from '../../proxy/db/outbox.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyReportSignature } from '../../proxy/report/signature.js';

export interface ReportReceiver {
  url: string;
  reports: StatusReport[];
  /** Answer this many requests with 503 first (vendor outage). */
  failNext: number;
  close(): Promise<void>;
}

/** A minimal vendor status endpoint on loopback that verifies signatures (for in-process pipeline tests). */
export async function startReportReceiver(secret: string): Promise<ReportReceiver> {
  const receiver: ReportReceiver = { url: '', reports: [], failNext: 0, close: () => Promise.resolve() };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      if (req.method === 'GET') return void res.writeHead(200).end('{"ok":true}');
      if (receiver.failNext > 0) {
        receiver.failNext--;
        return void res.writeHead(503).end();
      }
      const ok = verifyReportSignature(secret, req.headers[TIMESTAMP_HEADER] as string | undefined, body, req.headers[SIGNATURE_HEADER] as string | undefined);
      if (!ok) return void res.writeHead(401).end('{"code":"SIGNATURE_INVALID"}');
      receiver.reports.push(JSON.parse(body) as StatusReport);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/retention/v1/status`;
  receiver.close = () => new Promise((r) => server.close(() => r()));
  return receiver;
}
