import { defineStore } from 'pinia';
import { ref } from 'vue';
import { savedSearches as api } from '../api/endpoints';
import type { RecordType, SavedSearch } from '../api/types';

/** The user's saved searches (and, for admins, everyone's). */
export const useSavedSearchesStore = defineStore('saved-searches', () => {
  const mine = ref<SavedSearch[]>([]);
  const everyone = ref<SavedSearch[]>([]);
  const everyoneTruncated = ref(false);
  const loading = ref(false);
  const error = ref<unknown>(null);

  async function load(withEveryone: boolean): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      const [own, all] = await Promise.all([api.mine(), withEveryone ? api.all() : Promise.resolve(undefined)]);
      mine.value = own.items;
      if (all) {
        everyone.value = all.items;
        everyoneTruncated.value = all.truncated;
      }
    } catch (err) {
      error.value = err;
    } finally {
      loading.value = false;
    }
  }

  async function save(name: string, list: RecordType, query: Record<string, string>): Promise<SavedSearch> {
    const saved = await api.create({ name, list, query });
    mine.value = [saved, ...mine.value];
    return saved;
  }

  async function remove(id: string): Promise<void> {
    await api.remove(id);
    mine.value = mine.value.filter((s) => s.id !== id);
    everyone.value = everyone.value.filter((s) => s.id !== id);
  }

  return { mine, everyone, everyoneTruncated, loading, error, load, save, remove };
});
