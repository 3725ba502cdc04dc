import { defineStore } from 'pinia';
import { ref } from 'vue';
import { integrity as integrityApi } from '../api/endpoints';
import type { IntegrityDigest, IntegrityProblem, IntegritySweep } from '../api/types';

/** The integrity digests, the fixity sweeps and the problems of the latest sweep (admin). */
export const useIntegrityStore = defineStore('integrity', () => {
  const digests = ref<IntegrityDigest[]>([]);
  const sweeps = ref<IntegritySweep[]>([]);
  const problems = ref<IntegrityProblem[]>([]);
  const problemsTruncated = ref(false);
  const loading = ref(false);
  const error = ref<unknown>(null);

  async function load(): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      const [d, s] = await Promise.all([integrityApi.digests(), integrityApi.sweeps()]);
      digests.value = d.items;
      sweeps.value = s.items;
      const last = s.items[0];
      const p = last ? await integrityApi.problems(last.id) : { items: [], truncated: false };
      problems.value = p.items;
      problemsTruncated.value = p.truncated;
    } catch (err) {
      error.value = err;
    } finally {
      loading.value = false;
    }
  }

  return { digests, sweeps, problems, problemsTruncated, loading, error, load };
});
