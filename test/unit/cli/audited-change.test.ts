import { describe, expect, it } from 'vitest';
import { auditedChange } from '../../../proxy/cli/audited-change.js';

const codeOf = (err: unknown): string => (err as { code?: string }).code ?? 'INTERNAL';

describe('auditedChange (user add / passwd)', () => {
  it('a change that went through is audited ok, once', async () => {
    const entries: string[] = [];
    const out = await auditedChange(() => Promise.resolve(42), (o) => { entries.push(o); return Promise.resolve(); }, codeOf, () => undefined);
    expect(out).toBe(42);
    expect(entries).toEqual(['ok']);
  });

  it('a refused change is audited failed with its error code, and its error is raised', async () => {
    const entries: { o: string; extra?: Record<string, unknown> }[] = [];
    const refused = Object.assign(new Error('exists'), { code: 'USER_EXISTS' });
    await expect(auditedChange(() => Promise.reject(refused), (o, extra) => { entries.push({ o, ...(extra ? { extra } : {}) }); return Promise.resolve(); }, codeOf, () => undefined)).rejects.toBe(refused);
    expect(entries).toEqual([{ o: 'failed', extra: { error: 'USER_EXISTS' } }]);
  });

  it('when the audit write fails after the change, the change is NOT recorded as failed, and the failure is raised', async () => {
    const entries: string[] = [];
    let changed = false;
    let told = false;
    const auditDown = new Error('audit write rejected');
    const record = (o: 'ok' | 'failed'): Promise<void> => { entries.push(o); return Promise.reject(auditDown); };
    await expect(auditedChange(() => { changed = true; return Promise.resolve(); }, record, codeOf, () => { told = true; })).rejects.toBe(auditDown);
    expect(changed).toBe(true);
    expect(told).toBe(true);
    expect(entries).toEqual(['ok']);
  });

  it('when both the change and its audit fail, the change\'s error is raised', async () => {
    const refused = Object.assign(new Error('weak'), { code: 'PASSWORD_WEAK' });
    await expect(auditedChange(() => Promise.reject(refused), () => Promise.reject(new Error('audit down')), codeOf, () => undefined)).rejects.toBe(refused);
  });
});
