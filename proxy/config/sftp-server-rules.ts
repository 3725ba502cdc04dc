/**
 * Cross-field rule the schema cannot express: every SFTP server (sftp.host and each of sftp.peers) has its own host
 * key. Servers are identified by their pinned fingerprint (proxy/sftp/sources.ts), so two equal fingerprints would
 * merge two servers into one: typically cloned HA nodes that kept the template's host keys.
 */
export function sftpServerProblems(sftp: { hostKeyFingerprint?: unknown; peers?: unknown }): string[] {
  const servers: { where: string; fingerprint: string }[] = [];
  if (typeof sftp.hostKeyFingerprint === 'string') servers.push({ where: 'sftp.hostKeyFingerprint', fingerprint: sftp.hostKeyFingerprint });
  if (Array.isArray(sftp.peers)) {
    sftp.peers.forEach((peer: unknown, i) => {
      const fp = (peer as { hostKeyFingerprint?: unknown } | null)?.hostKeyFingerprint;
      if (typeof fp === 'string') servers.push({ where: `sftp.peers.${i}.hostKeyFingerprint`, fingerprint: fp });
    });
  }
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const { where, fingerprint } of servers) {
    const id = fingerprint.trim().replace(/=+$/, '');
    const first = seen.get(id);
    if (first === undefined) seen.set(id, where);
    else {
      problems.push(`${where}: the same host key as ${first} (${id}): peers must be other servers with their own host keys ` +
        '(cloned VMs? regenerate the host keys on each one)');
    }
  }
  return problems;
}
