import { defineStore } from 'pinia';
import { ref } from 'vue';
import { integrity as integrityApi } from '../api/endpoints';
import type { IntegrityDigest } from '../api/types';

/** The integrity digests (admin). */
export const useIntegrityStore = defineStore('integrity', () => {
  const digests = ref<IntegrityDigest[]>([]);
  const loading = ref(false);
  const error = ref<unknown>(null);

  async function load(): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      digests.value = (await integrityApi.digests()).items;
    } catch (err) {
      error.value = err;
    } finally {
      loading.value = false;
    }
  }

  return { digests, loading, error, load };
});
