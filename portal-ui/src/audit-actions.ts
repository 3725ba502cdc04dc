/** The audit log's actions, as the server's AUDIT_ACTIONS (proxy/portal/audit.ts; a unit test keeps them equal). */
export const AUDIT_ACTIONS = [
  'login.ok', 'login.failed', 'logout', 'record.view', 'record.verify', 'media.play', 'media.download', 'search', 'export', 'user.create', 'user.update', 'user.delete',
  'password.change', 'retention.policy.create', 'retention.policy.update', 'retention.policy.delete', 'retention.policy.mode', 'retention.hold.create',
  'retention.hold.release', 'retention.hold.export', 'retention.restore', 'retention.run', 'retention.archived.view', 'integrity.digest', 'list', 'media.verify',
  'search.save', 'search.delete',
  'audit.seal',
] as const;
