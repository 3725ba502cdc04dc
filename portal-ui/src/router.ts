import { createRouter, createWebHistory, type RouteRecordRaw, type RouteRecordSingleView } from 'vue-router';
import type { RecordType } from './api/types';
import { useAuthStore } from './stores/auth';

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable without a session. */
    public?: boolean;
    /** Only for admins. */
    admin?: boolean;
    title?: string;
  }
}

const RecordListView = () => import('./views/RecordListView.vue');

/** A list route (/calls) and its detail route (/calls/:id), both with stable URLs. */
function recordRoutes(type: RecordType, title: string, detailName: string, detail: RouteRecordSingleView['component'], withType = false): RouteRecordRaw[] {
  return [
    { path: `/${type}`, name: type, component: RecordListView, props: { type }, meta: { title } },
    {
      path: `/${type}/:id`, name: detailName, component: detail, meta: { title },
      props: (route) => (withType ? { id: String(route.params.id), type } : { id: String(route.params.id) }),
    },
  ];
}

const FileDetailView = () => import('./views/FileDetailView.vue');

export const routes: RouteRecordRaw[] = [
  { path: '/', redirect: { name: 'enquiries' } },
  { path: '/login', name: 'login', component: () => import('./views/LoginView.vue'), meta: { public: true, title: 'Sign in' } },
  ...recordRoutes('enquiries', 'Enquiry History', 'enquiry', () => import('./views/EnquiryDetailView.vue')),
  ...recordRoutes('rooms', 'Room / Space Report', 'room', () => import('./views/RoomDetailView.vue')),
  ...recordRoutes('calls', 'Call History', 'call', () => import('./views/CallDetailView.vue')),
  ...recordRoutes('conferences', 'Conference Call History', 'conference', () => import('./views/ConferenceDetailView.vue')),
  ...recordRoutes('files', 'Files', 'file', FileDetailView, true),
  ...recordRoutes('voicemails', 'Voicemail', 'voicemail', FileDetailView, true),
  ...recordRoutes('recordings', 'Call Recordings', 'recording', FileDetailView, true),
  ...recordRoutes('messages', 'Text Messages', 'message', () => import('./views/MessageDetailView.vue')),
  ...recordRoutes('staff', 'Staff', 'staff-member', () => import('./views/StaffDetailView.vue')),
  ...recordRoutes('contacts', 'External Contacts', 'contact', () => import('./views/ContactDetailView.vue')),
  { path: '/saved-searches', name: 'saved-searches', component: () => import('./views/SavedSearchesView.vue'), meta: { title: 'Saved searches' } },
  { path: '/account', name: 'my-account', component: () => import('./views/MyAccountView.vue'), meta: { title: 'My account' } },
  { path: '/admin/accounts', name: 'accounts', component: () => import('./views/AccountsView.vue'), meta: { admin: true, title: 'Accounts' } },
  { path: '/admin/sync', name: 'sync', component: () => import('./views/SyncStatusView.vue'), meta: { admin: true, title: 'Sync status' } },
  { path: '/admin/retention/policies', name: 'retention-policies', component: () => import('./views/retention/RetentionPoliciesView.vue'), meta: { admin: true, title: 'Retention policies' } },
  { path: '/admin/retention/holds', name: 'retention-holds', component: () => import('./views/retention/LegalHoldsView.vue'), meta: { admin: true, title: 'Legal holds' } },
  { path: '/admin/retention/runs', name: 'retention-runs', component: () => import('./views/retention/RetentionRunsView.vue'), meta: { admin: true, title: 'Retention runs' } },
  {
    path: '/admin/retention/runs/:id', name: 'retention-run', component: () => import('./views/retention/RetentionRunView.vue'),
    props: (route) => ({ id: String(route.params.id) }), meta: { admin: true, title: 'Retention run' },
  },
  { path: '/admin/retention/archived', name: 'retention-archived', component: () => import('./views/retention/ArchivedDataView.vue'), meta: { admin: true, title: 'Archived data' } },
  {
    path: '/admin/retention/archived/:type/:id', name: 'retention-archived-record', component: () => import('./views/retention/ArchivedRecordView.vue'),
    props: (route) => ({ type: String(route.params.type), id: String(route.params.id) }), meta: { admin: true, title: 'Archived record' },
  },
  { path: '/admin/audit', name: 'audit', component: () => import('./views/AuditLogView.vue'), meta: { admin: true, title: 'Audit log' } },
  { path: '/admin/integrity', name: 'integrity', component: () => import('./views/IntegrityView.vue'), meta: { admin: true, title: 'Integrity' } },
  { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue'), meta: { title: 'Not found' } },
];

export function createPortalRouter() {
  const router = createRouter({ history: createWebHistory('/'), routes, scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 } });

  router.beforeEach(async (to) => {
    const auth = useAuthStore();
    const signedIn = await auth.ensureSession();
    if (to.meta.public) return signedIn && to.name === 'login' ? { path: typeof to.query.next === 'string' ? to.query.next : '/' } : true;
    if (!signedIn) return { name: 'login', query: { next: to.fullPath } };
    if (to.meta.admin && !auth.isAdmin) return { name: 'not-found', params: { pathMatch: to.path.slice(1).split('/') } };
    return true;
  });
  router.afterEach((to) => {
    document.title = to.meta.title ? `${to.meta.title} · Retention Portal` : 'Retention Portal';
  });
  return router;
}
