import { defineStore } from 'pinia';
import { ref } from 'vue';
import { retention as api } from '../api/endpoints';
import type { ArchivedItem, DataType, HoldScope, LegalHold, NewPolicy, PolicyChange, PolicyMode, RetentionPolicy, RetentionRun } from '../api/retention-types';

/**
 * Retention governance (admin): policies, legal holds, runs and archived data. Each change is applied by the server
 * and the store keeps the server's answer; errors of loads are kept in `error`, errors of actions are thrown to the view.
 */
export const useRetentionStore = defineStore('retention', () => {
  const policies = ref<RetentionPolicy[]>([]);
  const holds = ref<LegalHold[]>([]);
  const holdState = ref<'active' | 'released'>('active');
  const runs = ref<RetentionRun[]>([]);
  const run = ref<RetentionRun | null>(null);
  const archived = ref<ArchivedItem[]>([]);
  const archivedType = ref<DataType>('enquiries');
  const archivedCursor = ref<string | null>(null);
  const loading = ref(false);
  const error = ref<unknown>(null);

  async function loading_<T>(load: () => Promise<T>): Promise<T | undefined> {
    loading.value = true;
    error.value = null;
    try {
      return await load();
    } catch (err) {
      error.value = err;
      return undefined;
    } finally {
      loading.value = false;
    }
  }

  function replacePolicy(p: RetentionPolicy): void {
    const i = policies.value.findIndex((x) => x.id === p.id);
    if (i >= 0) policies.value.splice(i, 1, p);
    else policies.value.push(p);
  }

  async function loadPolicies(): Promise<void> {
    const r = await loading_(() => api.policies());
    if (r) policies.value = r.items;
  }
  async function createPolicy(body: NewPolicy): Promise<RetentionPolicy> {
    const p = await api.createPolicy(body);
    replacePolicy(p);
    return p;
  }
  async function updatePolicy(id: string, change: PolicyChange): Promise<void> {
    replacePolicy(await api.updatePolicy(id, change));
  }
  async function setMode(id: string, mode: PolicyMode, confirm?: string): Promise<void> {
    replacePolicy(await api.setMode(id, mode, confirm));
  }
  async function deletePolicy(id: string): Promise<void> {
    await api.deletePolicy(id);
    policies.value = policies.value.filter((p) => p.id !== id);
  }

  // A page switched twice quickly (type, state): only the latest request's answer is shown.
  let holdSeq = 0;
  let archivedSeq = 0;

  async function loadHolds(state: 'active' | 'released' = holdState.value): Promise<void> {
    holdState.value = state;
    const seq = ++holdSeq;
    const r = await loading_(() => api.holds(state));
    if (r && seq === holdSeq) holds.value = r.items;
  }
  async function createHold(name: string, reason: string, scope: HoldScope): Promise<LegalHold> {
    const h = await api.createHold({ name, reason, scope });
    if (holdState.value === 'active') holds.value.unshift(h);
    return h;
  }
  async function releaseHold(id: string, reason: string): Promise<void> {
    await api.releaseHold(id, reason);
    holds.value = holds.value.filter((h) => h.id !== id);
  }

  async function loadRuns(): Promise<void> {
    const r = await loading_(() => api.runs(50));
    if (r) runs.value = r.items;
  }
  async function loadRun(id: string): Promise<void> {
    run.value = (await loading_(() => api.run(id))) ?? null;
  }
  async function runNow(): Promise<string> {
    return (await api.runNow()).runId;
  }
  async function restoreRun(id: string, reason: string): Promise<number> {
    return (await api.restoreRun(id, reason)).restored;
  }

  async function loadArchived(type: DataType = archivedType.value): Promise<void> {
    archivedType.value = type;
    const seq = ++archivedSeq;
    const r = await loading_(() => api.archived({ type, limit: 50 }));
    if (r && seq === archivedSeq) {
      archived.value = r.items;
      archivedCursor.value = r.nextCursor;
    }
  }
  async function moreArchived(): Promise<void> {
    const cursor = archivedCursor.value;
    if (!cursor) return;
    const seq = ++archivedSeq;
    const r = await loading_(() => api.archived({ type: archivedType.value, limit: 50, cursor }));
    if (r && seq === archivedSeq) {
      archived.value.push(...r.items);
      archivedCursor.value = r.nextCursor;
    }
  }
  async function restore(type: string, id: string, reason: string): Promise<void> {
    await api.restore(type, id, reason);
    archived.value = archived.value.filter((a) => !(a.type === type && a.id === id));
  }

  return {
    policies, holds, holdState, runs, run, archived, archivedType, archivedCursor, loading, error,
    loadPolicies, createPolicy, updatePolicy, setMode, deletePolicy,
    loadHolds, createHold, releaseHold,
    loadRuns, loadRun, runNow, restoreRun,
    loadArchived, moreArchived, restore,
  };
});
