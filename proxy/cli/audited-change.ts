/** Writes one audit entry: outcome ok, or failed with extra details (the error code). */
export type ChangeAudit = (outcome: 'ok' | 'failed', extra?: Record<string, unknown>) => Promise<void>;

/**
 * Runs an account change and audits it (docs/portal.md: every account change is audited, refused ones too). The
 * change and its audit entry are separate steps: a change that went through is never recorded as failed because
 * writing its audit entry failed. That failure is raised (the command does not report success silently), with
 * `onUnaudited` told first so it can say that the change itself was made.
 */
export async function auditedChange<T>(change: () => Promise<T>, record: ChangeAudit, errorCode: (err: unknown) => string, onUnaudited: () => void): Promise<T> {
  let out: T;
  try {
    out = await change();
  } catch (err) {
    try {
      await record('failed', { error: errorCode(err) });
    } catch {
      // The change's own error is what the operator needs; the audit failure must not hide it.
    }
    throw err;
  }
  try {
    await record('ok');
  } catch (err) {
    onUnaudited();
    throw err;
  }
  return out;
}
