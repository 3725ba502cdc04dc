import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { auth as authApi } from '../api/endpoints';
import { isApiError, setCsrfToken } from '../api/http';
import type { SessionUser } from '../api/types';

/** The signed-in user and the session's CSRF token. */
export const useAuthStore = defineStore('auth', () => {
  const user = ref<SessionUser | null>(null);
  /** True once the session has been probed (`auth/me`) since the page loaded. */
  const checked = ref(false);
  const isAdmin = computed(() => user.value?.role === 'admin');

  function signedOut(): void {
    user.value = null;
    setCsrfToken(null);
  }

  /** Probes the cookie session once per page load; false when there is none. */
  async function ensureSession(): Promise<boolean> {
    if (checked.value) return user.value !== null;
    try {
      const s = await authApi.me();
      user.value = s.user;
      setCsrfToken(s.csrfToken);
    } catch (err) {
      if (!isApiError(err, 'AUTH_REQUIRED') && !(isApiError(err) && err.status === 401)) throw err;
      signedOut();
    } finally {
      checked.value = true;
    }
    return user.value !== null;
  }

  async function login(username: string, password: string): Promise<void> {
    const s = await authApi.login(username, password);
    user.value = s.user;
    setCsrfToken(s.csrfToken);
    checked.value = true;
  }

  async function logout(): Promise<void> {
    try {
      await authApi.logout();
    } finally {
      signedOut();
    }
  }

  async function changePassword(currentPassword: string, newPassword: string): Promise<void> {
    await authApi.changePassword(currentPassword, newPassword);
  }

  /** The server said the session is gone (401 on any request). */
  function expired(): void {
    signedOut();
    checked.value = true;
  }

  return { user, checked, isAdmin, ensureSession, login, logout, changePassword, expired };
});
