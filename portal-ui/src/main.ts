import { createPinia } from 'pinia';
import { createApp } from 'vue';
import { setUnauthorizedHandler } from './api/http';
import App from './App.vue';
import { createPortalRouter } from './router';
import { useAuthStore } from './stores/auth';
import './styles.css';

const app = createApp(App);
const pinia = createPinia();
app.use(pinia);
const router = createPortalRouter();
app.use(router);

// A 401 on any call means the session ended (idle or absolute expiry, or signed out elsewhere): back to the login
// page, returning here afterwards.
setUnauthorizedHandler(() => {
  useAuthStore(pinia).expired();
  const here = router.currentRoute.value;
  if (here.name !== 'login') void router.push({ name: 'login', query: { next: here.fullPath, expired: '1' } });
});

app.mount('#app');
