import { userInfo } from 'node:os';
import type { AuditAction, AuditLog } from './audit.js';

/** Who changed an account outside a portal session: the `user` CLI, or the proxy itself at start. */
export type SystemActor = 'cli' | 'system';

/** The local operating-system account running the command (never fails). */
function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}

/**
 * An audit entry for an account change made without a portal session (docs/portal.md: every account change is
 * audited): user `cli` (with the OS account in details) or `system` (portal.adminPassword at start).
 */
export async function auditSystemChange(log: AuditLog, actor: SystemActor, entry: { action: AuditAction; target: string; outcome?: 'ok' | 'failed'; details?: Record<string, unknown> }): Promise<void> {
  await log.record({
    user: actor, role: null, action: entry.action, target: entry.target,
    ip: 'local', userAgent: actor === 'cli' ? 'retention-proxy user' : 'retention-proxy',
    outcome: entry.outcome ?? 'ok',
    details: { ...entry.details, ...(actor === 'cli' ? { osUser: osUser() } : {}) },
  });
}
