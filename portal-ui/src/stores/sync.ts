import { defineStore } from 'pinia';
import { ref } from 'vue';
import { sync as syncApi } from '../api/endpoints';
import type { SyncHealth, SyncJob } from '../api/types';

/** The local backup log and the proxy's health (admin). */
export const useSyncStore = defineStore('sync', () => {
  const jobs = ref<SyncJob[]>([]);
  const health = ref<SyncHealth | null>(null);
  const loading = ref(false);
  const error = ref<unknown>(null);
  const healthError = ref<unknown>(null);

  async function load(state?: string): Promise<void> {
    loading.value = true;
    error.value = null;
    const [j, h] = await Promise.allSettled([syncApi.jobs({ limit: 200, state }), syncApi.health()]);
    if (j.status === 'fulfilled') jobs.value = j.value.items;
    else error.value = j.reason;
    if (h.status === 'fulfilled') {
      health.value = h.value;
      healthError.value = null;
    } else healthError.value = h.reason;
    loading.value = false;
  }

  return { jobs, health, loading, error, healthError, load };
});
