import { defineStore } from 'pinia';
import { ref } from 'vue';
import { records } from '../api/endpoints';

export interface PersonOption { id: string; label: string }

/**
 * Staff and external contacts as pick-list options for the Staff/Contact filters (the API filters by id; people
 * pick by name). Loaded once per session, first 200 of each by name.
 */
export const usePeopleStore = defineStore('people', () => {
  const staff = ref<PersonOption[]>([]);
  const contacts = ref<PersonOption[]>([]);
  let loading: Promise<void> | null = null;

  function ensureLoaded(): Promise<void> {
    loading ??= Promise.all([records.list('staff', { limit: 200 }), records.list('contacts', { limit: 200 })])
      .then(([s, c]) => {
        staff.value = s.items.map((x) => ({ id: x.id, label: `${x.displayName} · ${x.extension}` }));
        contacts.value = c.items.map((x) => ({ id: x.id, label: `${x.name} · ${x.phones[0]?.number ?? ''}` }));
      })
      .catch(() => {
        loading = null; // pick lists are a convenience: typing an id still works
      });
    return loading;
  }

  return { staff, contacts, ensureLoaded };
});
