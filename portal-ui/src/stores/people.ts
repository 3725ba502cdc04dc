import { defineStore } from 'pinia';
import { reactive, ref } from 'vue';
import { records } from '../api/endpoints';

export interface PersonOption { id: string; label: string; name?: string }

/** A staff member or contact a typed name may mean, with what tells people of the same name apart. */
export interface PersonChoice { id: string; name: string; detail: string }

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
        staff.value = s.items.map((x) => ({ id: x.id, label: `${x.displayName} · ${x.extension}`, name: x.displayName }));
        contacts.value = c.items.map((x) => ({ id: x.id, label: `${x.name} · ${x.phones[0]?.number ?? ''}`, name: x.name }));
        for (const o of [...staff.value, ...contacts.value]) if (o.name) known.set(o.id, o.name);
      })
      .catch(() => {
        loading = null; // pick lists are a convenience: typing an id still works
      });
    return loading;
  }

  /** Names of ids seen this session (pick lists, resolved names), for the filter chips. */
  const known = reactive(new Map<string, string>());

  /**
   * The people a typed name means: the Contact filter looks only at contacts, the Staff filter only at staff (so a
   * customer and a staff member of the same name never mix). Exact names (case-insensitive) win over partial ones.
   */
  async function resolve(kind: 'staff' | 'contact', text: string): Promise<PersonChoice[]> {
    const wanted = text.trim().toLowerCase();
    const hits: PersonChoice[] = kind === 'staff'
      ? (await records.list('staff', { q: text, limit: 50 })).items.map((x) => ({ id: x.id, name: x.displayName, detail: [x.department, x.extension && `ext. ${x.extension}`, x.email].filter(Boolean).join(' · ') }))
      : (await records.list('contacts', { q: text, limit: 50 })).items.map((x) => ({ id: x.id, name: x.name, detail: [x.company, x.phones[0]?.number, x.emails[0]].filter(Boolean).join(' · ') }));
    const named = hits.filter((h) => h.name.toLowerCase().includes(wanted));
    const exact = named.filter((h) => h.name.toLowerCase() === wanted);
    const out = exact.length > 0 ? exact : named;
    for (const h of out) known.set(h.id, h.name);
    return out;
  }

  return { staff, contacts, known, ensureLoaded, resolve };
});
