import { defineStore } from 'pinia';
import { ref } from 'vue';
import { users as usersApi } from '../api/endpoints';
import type { Role, UserAccount } from '../api/types';

/** Portal accounts (admin only). Each change is applied and the row replaced with the server's answer. */
export const useUsersStore = defineStore('users', () => {
  const items = ref<UserAccount[]>([]);
  const loading = ref(false);
  const error = ref<unknown>(null);

  function replace(u: UserAccount): void {
    const i = items.value.findIndex((x) => x.username === u.username);
    if (i >= 0) items.value.splice(i, 1, u);
    else items.value.push(u);
  }

  async function load(): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      items.value = (await usersApi.list()).items;
    } catch (err) {
      error.value = err;
    } finally {
      loading.value = false;
    }
  }

  async function create(username: string, password: string, role: Role): Promise<void> {
    replace(await usersApi.create({ username, password, role }));
  }
  async function setRole(username: string, role: Role): Promise<void> {
    replace(await usersApi.update(username, { role }));
  }
  async function setDisabled(username: string, disabled: boolean): Promise<void> {
    replace(await usersApi.update(username, { disabled }));
  }
  async function resetPassword(username: string, password: string): Promise<void> {
    replace(await usersApi.update(username, { password }));
  }
  async function remove(username: string): Promise<void> {
    await usersApi.remove(username);
    items.value = items.value.filter((u) => u.username !== username);
  }

  return { items, loading, error, load, create, setRole, setDisabled, resetPassword, remove };
});
