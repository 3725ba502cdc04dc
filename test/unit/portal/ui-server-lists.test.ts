import { describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS as UI_AUDIT_ACTIONS } from '../../../portal-ui/src/audit-actions.js';
import { DATA_TYPES as UI_DATA_TYPES } from '../../../portal-ui/src/api/retention-types.js';
import { AUDIT_ACTIONS } from '../../../proxy/portal/audit.js';
import { DATA_TYPES } from '../../../proxy/retention/types.js';

/** The portal UI repeats a few of the server's lists (it is built separately); they must not drift apart. */
describe('lists the portal UI shares with the server', () => {
  it('the audit log filter offers every audit action the server writes', () => {
    expect([...UI_AUDIT_ACTIONS].sort()).toEqual([...AUDIT_ACTIONS].sort());
  });

  it('the retention pages offer every data type a policy may have', () => {
    expect([...UI_DATA_TYPES]).toEqual([...DATA_TYPES]);
  });
});
