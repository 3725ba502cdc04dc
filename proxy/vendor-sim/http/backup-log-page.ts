import type { BackupLogRow } from '../types.js';

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

export function humanBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u] ?? ''}`;
}

const when = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;

/** "Delete from CINNOX" while Auto-Delete is off and nothing was deleted yet; "Try again" after a failed deletion. */
function action(r: BackupLogRow, autoDelete: boolean): string {
  const label = r.status === 'delete-failed' ? 'Try again' : !autoDelete && r.status !== 'deleting' && r.status !== 'deleted' ? 'Delete from CINNOX' : '';
  if (!label) return '';
  return `<form method="post" action="/backup-log/delete"><input type="hidden" name="fileName" value="${escapeHtml(r.fileName)}"><button type="submit">${label}</button></form>`;
}

/** The vendor's Backup Log page: one table per backup site, newest backup first. */
export function renderBackupLogPage(serviceId: string, rows: readonly BackupLogRow[], opts: { autoDelete: boolean } = { autoDelete: false }): string {
  const bySite = new Map<string, BackupLogRow[]>();
  for (const r of rows) {
    const key = r.siteId ?? '(no site has reported yet)';
    bySite.set(key, [...(bySite.get(key) ?? []), r]);
  }
  const tables = [...bySite].map(([site, siteRows]) => `
<h2>Backup site: ${escapeHtml(site)}</h2>
<table>
<thead><tr><th>Date and time</th><th>File name</th><th>Total data size</th><th>Files</th><th>Status</th><th>Action</th></tr></thead>
<tbody>
${siteRows.map((r) => `<tr class="status-${r.status}"><td>${when(r.createdAt)}</td><td><code>${escapeHtml(r.fileName)}</code></td><td>${humanBytes(r.totalBytes)}</td><td>${r.fileCount}</td><td>${escapeHtml(r.status === 'failed' ? 'Failed' : r.statusText)}${r.error ? `<br><small>${escapeHtml(r.error.code)}: ${escapeHtml(r.error.message)}</small>` : ''}</td><td>${action(r, opts.autoDelete)}</td></tr>`).join('\n')}
</tbody>
</table>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="5">
<title>Backup Log - ${escapeHtml(serviceId)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; width: 100%; margin-bottom: 2rem; }
th, td { border-bottom: 1px solid #ddd; padding: .4rem .6rem; text-align: left; }
th { background: #f4f6f8; }
.status-downloaded td:nth-child(5) { color: #1a7f37; }
.status-failed td:nth-child(5), .status-delete-failed td:nth-child(5) { color: #cf222e; }
.status-downloading td:nth-child(5), .status-uploading td:nth-child(5) { color: #9a6700; }
</style>
</head>
<body>
<h1>Retention - Backup Log</h1>
<p>Service <code>${escapeHtml(serviceId)}</code> (vendor simulator). This page refreshes every 5 seconds.
Auto-Delete Retained Data: <strong>${opts.autoDelete ? 'ON' : 'OFF'}</strong>.</p>
${rows.length === 0 ? '<p>No backups yet.</p>' : tables}
</body>
</html>
`;
}
