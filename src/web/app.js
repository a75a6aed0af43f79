// The single-page app: the session, the shell (header and navigation by role)
// and a tiny router from hash routes (#/contacts/ID) to view modules. Each
// view module exports render(container, params) and may return a cleanup
// function. To add a screen: write view-NAME.js, add it to ROUTES and, when
// it belongs in the navigation, to NAV.
import { api, loadSession, setCsrfToken, setUnauthenticatedHandler } from './api.js';
import { state, can, role, setTitle } from './session.js';
import { h, clear, loading, errorState, toast, badge, nextId } from './ui.js';
import * as signin from './view-signin.js';
import * as enrol from './view-enrol.js';
import * as profile from './view-profile.js';
import * as settings from './view-settings.js';
import * as users from './view-users.js';
import * as apikeys from './view-apikeys.js';
import * as audit from './view-audit.js';
import * as fields from './view-fields.js';
import * as lists from './view-lists.js';
import * as contacts from './view-contacts.js';
import * as contact from './view-contact.js';
import * as contactNew from './view-contact-new.js';
import * as imports from './view-imports.js';
import * as exportsView from './view-exports.js';
import * as privacy from './view-privacy.js';
import * as campaigns from './view-campaigns.js';
import * as campaign from './view-campaign.js';
import * as campaignStats from './view-campaign-stats.js';
import * as sending from './view-sending.js';

// Routes inside the shell; perm: the permission the screen needs (none: any signed-in user).
const ROUTES = [
  { path: '/contacts', view: contacts, perm: 'contacts.search' },
  { path: '/contacts/new', view: contactNew, perm: 'contacts.view_addresses' },
  { path: '/contacts/:id', view: contact, perm: 'contacts.search' },
  { path: '/lists', view: lists },
  { path: '/fields', view: fields },
  { path: '/settings', view: settings, perm: 'settings.manage' },
  { path: '/users', view: users, perm: 'users.manage' },
  { path: '/api-keys', view: apikeys },
  { path: '/audit', view: audit, perm: 'audit.read' },
  { path: '/profile', view: profile },
  { path: '/imports', view: imports, perm: 'contacts.import' },
  { path: '/imports/:id', view: imports, perm: 'contacts.import' },
  { path: '/exports', view: exportsView, perm: 'contacts.export' },
  { path: '/privacy', view: privacy, perm: 'consent.history' },
  { path: '/campaigns', view: campaigns, perm: 'campaigns.write' },
  { path: '/campaigns/new', view: campaign, perm: 'campaigns.write' },
  { path: '/campaigns/:id', view: campaign, perm: 'campaigns.write' },
  { path: '/campaigns/:id/stats', view: campaignStats, perm: 'campaigns.write' },
  { path: '/sending', view: sending, perm: 'settings.manage' },
];

// The navigation, grouped; an entry shows only to roles that hold its permission.
const NAV = [
  {
    label: 'Audience',
    items: [
      { href: '#/contacts', label: 'Contacts', perm: 'contacts.search' },
      { href: '#/lists', label: 'Lists' },
      { href: '#/fields', label: 'Fields' },
      { href: '#/imports', label: 'Imports', perm: 'contacts.import' },
      { href: '#/exports', label: 'Exports', perm: 'contacts.export' },
    ],
  },
  {
    label: 'Campaigns',
    items: [
      { href: '#/campaigns', label: 'Campaigns', perm: 'campaigns.write' },
    ],
  },
  {
    label: 'Privacy',
    items: [
      { href: '#/privacy', label: 'Privacy centre', perm: 'consent.history' },
    ],
  },
  {
    label: 'Account',
    items: [
      { href: '#/settings', label: 'Settings', perm: 'settings.manage' },
      { href: '#/sending', label: 'Sending', perm: 'settings.manage' },
      { href: '#/users', label: 'Users', perm: 'users.manage' },
      { href: '#/api-keys', label: 'API keys' },
      { href: '#/audit', label: 'Audit log', perm: 'audit.read' },
    ],
  },
];

const HOME = '#/contacts';
const root = document.getElementById('app');
let shell = null; // {main, nav}
let cleanup = null;
let renderSeq = 0;

function match(path) {
  const parts = path.split('/').filter(Boolean);
  for (const route of ROUTES) {
    const want = route.path.split('/').filter(Boolean);
    if (want.length !== parts.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < want.length && ok; i++) {
      if (want[i].startsWith(':')) params[want[i].slice(1)] = decodeURIComponent(parts[i]);
      else ok = want[i] === parts[i];
    }
    if (ok) return { route, params };
  }
  return null;
}

function currentPath() {
  const hash = location.hash.replace(/^#/, '');
  const [path, query = ''] = hash.split('?');
  return { path: path || '/', query: new URLSearchParams(query) };
}

// Navigates to a hash route (also when it is the current one: re-renders).
export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function runCleanup() {
  if (typeof cleanup === 'function') {
    try { cleanup(); } catch { /* a view's cleanup never blocks navigation */ }
  }
  cleanup = null;
}

// ---- outside the shell: sign-in, the TOTP step, forced enrolment ----

function renderPublic(view, params = {}) {
  runCleanup();
  shell = null;
  clear(root);
  root.className = 'app-public';
  const main = h('main', { id: 'main', class: 'public-main' });
  root.append(main);
  cleanup = view.render(main, params, { go, start });
}

// ---- the shell ----

function navLink(item) {
  return h('li', {}, h('a', { href: item.href, class: 'nav-link', 'data-nav': item.href }, item.label));
}

function buildShell() {
  clear(root);
  root.className = 'app-shell';
  const s = state.session;
  const navId = nextId('nav');
  const menuButton = h('button', {
    type: 'button', class: 'btn btn-ghost menu-button', 'aria-expanded': 'false', 'aria-controls': navId,
    onclick: () => {
      const open = root.classList.toggle('nav-open');
      menuButton.setAttribute('aria-expanded', open ? 'true' : 'false');
    },
  }, h('span', { class: 'menu-icon', 'aria-hidden': 'true' }), 'Menu');
  const accountName = h('span', { class: 'account-name', text: state.account ? state.account.name : '' });
  const header = h('header', { class: 'topbar' },
    h('div', { class: 'topbar-left' },
      menuButton,
      h('a', { href: HOME, class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '✉'), h('span', { class: 'brand-name' }, 'Postbode')),
      h('span', { class: 'topbar-sep', 'aria-hidden': 'true' }),
      accountName),
    h('div', { class: 'topbar-right' },
      h('a', { href: '#/profile', class: 'user-link', 'data-nav': '#/profile', title: 'Your profile' },
        h('span', { class: 'user-email', text: s.user.email }), badge(s.user.role, 'role')),
      h('button', { type: 'button', class: 'btn btn-ghost', id: 'sign-out', onclick: signOut }, 'Sign out')));
  const nav = h('nav', { class: 'sidenav', id: navId, 'aria-label': 'Main' },
    NAV.map((group) => {
      const items = group.items.filter((i) => !i.perm || can(i.perm));
      if (!items.length) return null;
      return h('div', { class: 'nav-group' },
        h('p', { class: 'nav-group-label', text: group.label }),
        h('ul', {}, items.map(navLink)));
    }));
  const main = h('main', { id: 'main', class: 'content', tabindex: '-1' });
  root.append(h('a', { href: '#main', class: 'skip-link', onclick: (e) => { e.preventDefault(); main.focus(); } }, 'Skip to content'), header, h('div', { class: 'layout' }, nav, main));
  shell = { main, nav };
}

function markNav(path) {
  for (const a of root.querySelectorAll('[data-nav]')) {
    const target = a.getAttribute('data-nav').slice(1);
    const active = path === target || path.startsWith(`${target}/`);
    if (active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function signOut() {
  try {
    await api.del('/session');
  } catch { /* signed out anyway below */ }
  setCsrfToken(null);
  state.session = null;
  state.account = null;
  history.replaceState(null, '', '#/signin');
  renderPublic(signin, { notice: 'You are signed out.' });
}

function route() {
  const { path, query } = currentPath();
  if (!state.session) {
    if (path === '/forgot') renderPublic(signin, { mode: 'forgot' });
    else renderPublic(signin, {});
    return;
  }
  if (state.session.mfa_pending) {
    renderPublic(signin, { mode: 'mfa' });
    return;
  }
  if (state.session.must_enrol) {
    renderPublic(enrol, { forced: true });
    return;
  }
  if (path === '/' || path === '/signin' || path === '/forgot') {
    history.replaceState(null, '', HOME);
    route();
    return;
  }
  if (!shell) buildShell();
  root.classList.remove('nav-open');
  const found = match(path);
  markNav(path);
  runCleanup();
  const main = shell.main;
  clear(main);
  const seq = ++renderSeq;
  if (!found) {
    setTitle('Not found');
    main.append(h('div', { class: 'state state-empty' },
      h('h1', { class: 'page-title', text: 'Page not found' }),
      h('p', { class: 'state-text', text: 'This address does not lead to a screen of Postbode.' }),
      h('a', { href: HOME, class: 'btn btn-primary' }, 'Go to contacts')));
    return;
  }
  if (found.route.perm && !can(found.route.perm)) {
    setTitle('Not available');
    main.append(h('div', { class: 'state state-empty' },
      h('h1', { class: 'page-title', text: 'Not available for your role' }),
      h('p', { class: 'state-text', text: `Your role (${role()}) does not include this screen. Ask an owner of the account if you need it.` })));
    return;
  }
  const params = { ...found.params, query };
  try {
    const result = found.route.view.render(main, params, { go, isCurrent: () => seq === renderSeq, refreshShell });
    Promise.resolve(result).then((fn) => {
      if (seq === renderSeq) cleanup = fn;
      else if (typeof fn === 'function') fn();
      const title = main.querySelector('.page-title');
      if (title && seq === renderSeq && document.activeElement === document.body) title.focus({ preventScroll: true });
    }).catch((err) => {
      if (seq !== renderSeq) return;
      clear(main);
      main.append(errorState(err, () => route()));
    });
  } catch (err) {
    clear(main);
    main.append(errorState(err, () => route()));
  }
}

// Re-reads the session and the account (after a change of name, role or 2FA).
export async function refreshShell() {
  state.session = await loadSession();
  if (state.session && !state.session.mfa_pending && !state.session.must_enrol) {
    state.account = await api.get('/account').catch(() => null);
  }
  shell = null;
  route();
}

// (Re)starts the app: reads the session, then shows the screen the hash names.
export async function start() {
  clear(root);
  root.append(loading('Opening Postbode…'));
  try {
    state.session = await loadSession();
    state.account = null;
    if (state.session && !state.session.mfa_pending && !state.session.must_enrol) {
      state.account = await api.get('/account');
    }
  } catch (err) {
    clear(root);
    root.append(errorState(err, start));
    return;
  }
  shell = null;
  route();
}

setUnauthenticatedHandler(() => {
  if (!state.session) return;
  state.session = null;
  state.account = null;
  toast('Your session has ended. Sign in again.', 'error');
  renderPublic(signin, { notice: 'Your session has ended. Sign in again to continue.' });
});

window.addEventListener('hashchange', route);

start();
