// Who is signed in, and what their role allows. The permission table mirrors
// the server's (src/model/roles.c): the UI hides what a role may not do, the
// server refuses it anyway.

export const state = {
  session: null, // GET /session
  account: null, // GET /account
};

const ALL = [
  'contacts.view_addresses', 'contacts.search', 'contacts.import', 'contacts.export',
  'consent.history', 'erasure.run', 'campaigns.write', 'campaigns.send',
  'users.manage', 'settings.manage',
];

const GRANTS = {
  owner: new Set([...ALL, 'audit.read', 'owners.manage', 'suppression.override']),
  admin: new Set(ALL),
  author: new Set(['contacts.search', 'campaigns.write']),
};

export function role() {
  return state.session && state.session.user ? state.session.user.role : null;
}

export function can(perm) {
  const grants = GRANTS[role()];
  return Boolean(grants && grants.has(perm));
}

export function setTitle(...parts) {
  document.title = [...parts.filter(Boolean), 'Postbode'].join(' — ');
}

export const BASES = [
  { value: 'consent', label: 'Consent', help: 'The person agreed to receive these emails (art. 6(1)(a)).' },
  { value: 'contract', label: 'Contract', help: 'Needed for a contract with the person, or steps before one (art. 6(1)(b)).' },
  { value: 'legal_obligation', label: 'Legal obligation', help: 'A law requires you to contact them (art. 6(1)(c)).' },
  { value: 'vital_interests', label: 'Vital interests', help: 'To protect someone’s life (art. 6(1)(d)).' },
  { value: 'public_task', label: 'Public task', help: 'A task in the public interest or official authority (art. 6(1)(e)).' },
  { value: 'legitimate_interests', label: 'Legitimate interests', help: 'Your legitimate interest, weighed against the person’s rights (art. 6(1)(f)).' },
];

export function basisLabel(value) {
  const b = BASES.find((x) => x.value === value);
  return b ? b.label : value;
}
