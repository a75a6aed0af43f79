// Sending settings (owners and admins): the account's SMTP relay (GET/PUT
// /settings/smtp; the password is taken, never shown back) and its DKIM keys
// (PUT /settings/dkim generates one; the DNS TXT record to publish is shown
// with a copy button; DELETE with confirmation).
import { api } from './api.js';
import { setTitle } from './session.js';
import { h, clear, card, pageHeader, field, form, button, toast, confirm, loading, errorState, empty, fmtDate, copyButton, badge, definitionList } from './ui.js';

const TLS = [
  { value: 'starttls', label: 'STARTTLS (port 587)' },
  { value: 'smtps', label: 'SMTPS (port 465)' },
  { value: 'none', label: 'None: a relay on this server' },
];

const ALGORITHMS = [
  { value: 'rsa-sha256', label: 'RSA (works everywhere)' },
  { value: 'ed25519-sha256', label: 'Ed25519 (short, newer)' },
];

function numberOrAbsent(text) {
  const t = String(text ?? '').trim();
  return t === '' ? undefined : Number(t);
}

function relayForm(relay, onSaved) {
  const removeId = 'smtp-remove-password';
  const password = field({
    label: 'Password', name: 'password', type: 'password', optional: true,
    hint: relay && relay.has_password ? 'A password is stored. Leave this empty to keep it.' : 'Needed when the relay asks for a login.',
    attrs: { autocomplete: 'new-password' },
  });
  const removeBox = relay && relay.has_password
    ? field({ label: 'Remove the stored password', name: 'remove_password', type: 'checkbox', id: removeId })
    : null;
  return form({
    id: 'smtp-form',
    submitLabel: relay ? 'Save relay' : 'Set up relay',
    fields: [
      h('div', { class: 'form-grid' },
        field({ label: 'Host', name: 'host', value: relay ? relay.host : '', hint: 'e.g. smtp.example.org', attrs: { autocomplete: 'off', spellcheck: 'false' } }),
        field({ label: 'Security', name: 'tls', type: 'select', options: TLS, value: relay ? relay.tls : 'starttls', hint: 'Without TLS only to a relay on this server.' }),
        field({ label: 'Port', name: 'port', type: 'number', value: relay ? String(relay.port) : '', optional: true, hint: 'Empty: the usual one.', attrs: { min: '1', max: '65535', class: 'input-short' } })),
      h('div', { class: 'form-grid' },
        field({ label: 'Username', name: 'username', value: relay && relay.username ? relay.username : '', optional: true, attrs: { autocomplete: 'off', spellcheck: 'false' } }),
        password),
      removeBox,
      h('div', { class: 'form-grid' },
        field({ label: 'Connections at once', name: 'max_connections', type: 'number', value: relay ? String(relay.max_connections) : '', optional: true, hint: 'How many messages travel in parallel.', attrs: { min: '1', class: 'input-short' } }),
        field({ label: 'Messages per second', name: 'rate_per_second', type: 'number', value: relay ? String(relay.rate_per_second) : '', optional: true, hint: 'The relay’s limit; 0 for none.', attrs: { min: '0', class: 'input-short' } })),
    ],
    onSubmit: async (el, v) => {
      const body = { host: v.host.trim(), tls: v.tls };
      const port = numberOrAbsent(v.port);
      if (port !== undefined) body.port = port;
      if (v.username.trim()) body.username = v.username.trim();
      if (v.password) body.password = v.password;
      else if (v.remove_password) body.password = '';
      const conns = numberOrAbsent(v.max_connections);
      if (conns !== undefined) body.max_connections = conns;
      const rate = numberOrAbsent(v.rate_per_second);
      if (rate !== undefined) body.rate_per_second = rate;
      for (const k of ['port', 'max_connections', 'rate_per_second']) {
        if (body[k] !== undefined && !Number.isInteger(body[k])) {
          const e = new Error('Enter a whole number.');
          e.text = e.message;
          e.field = k;
          throw e;
        }
      }
      const saved = await api.put('/settings/smtp', body);
      toast('SMTP relay saved.');
      onSaved(saved);
    },
  });
}

async function loadRelay(box) {
  clear(box).append(loading());
  let relay = null;
  try {
    relay = await api.get('/settings/smtp');
  } catch (err) {
    if (err.status !== 404) {
      clear(box).append(errorState(err, () => loadRelay(box)));
      return;
    }
  }
  const draw = (r) => {
    clear(box).append(
      r
        ? h('div', { class: 'notice notice-success', id: 'relay-status' },
          h('p', {}, 'Campaigns leave through ', h('strong', { text: `${r.host}:${r.port}` }), ` (${r.tls}${r.username ? `, as ${r.username}` : ''}${r.has_password ? ', password stored' : ''}). Last changed ${fmtDate(r.updated_at)}.`))
        : h('div', { class: 'notice notice-warning', id: 'relay-status' }, h('p', { text: 'No relay yet: campaigns cannot be sent until you set one up.' })),
      relayForm(r, draw));
  };
  draw(relay);
}

function keyCard(k, reload) {
  const name = `${k.dns.name}`;
  const value = k.dns.value;
  return h('section', { class: 'dkim-key', 'data-key': `${k.domain}/${k.selector}` },
    h('h3', { class: 'subhead' }, k.domain, ' ', badge(k.selector, 'neutral'), ' ', badge(k.algorithm, 'public')),
    definitionList([
      ['Created', fmtDate(k.created_at)],
      ['Record name', h('span', { class: 'token-row' }, h('code', { class: 'dns-name', text: name }), copyButton(() => name, 'Copy name'))],
      ['Type', h('code', { text: k.dns.type })],
      ['Value', h('div', {}, h('code', { class: 'dns-value secret', text: value }), h('p', {}, copyButton(() => value, 'Copy value')))],
    ]),
    h('p', { class: 'hint', text: `Publish this TXT record in the DNS of ${k.domain}. Mail with a From address of ${k.domain} is then signed, and receivers can check the signature.` }),
    button('Delete key', async () => {
      const ok = await confirm({
        title: `Delete the key ${k.selector} of ${k.domain}?`,
        message: 'Mail is no longer signed with it. Remove the TXT record from your DNS too, after the messages signed with it have arrived. This cannot be undone.',
        confirmLabel: 'Delete key',
      });
      if (!ok) return;
      try {
        await api.del(`/settings/dkim/${encodeURIComponent(k.domain)}/${encodeURIComponent(k.selector)}`);
        toast(`Key ${k.selector} of ${k.domain} deleted.`);
        await reload();
      } catch (err) {
        toast(err.text || err.message, 'error');
      }
    }, 'danger', { class: 'btn btn-danger-quiet btn-small' }));
}

async function loadKeys(box, state) {
  clear(box).append(loading());
  let keys;
  try {
    keys = (await api.get('/settings/dkim')).items;
  } catch (err) {
    clear(box).append(errorState(err, () => loadKeys(box, state)));
    return;
  }
  state.keys = keys;
  const reload = () => loadKeys(box, state);
  clear(box).append(keys.length
    ? h('div', { class: 'dkim-keys' }, keys.map((k) => keyCard(k, reload)))
    : empty('No DKIM keys', 'Without a key, receivers cannot check that your campaigns come from you, and more of them land in spam.'));
}

export async function render(container) {
  setTitle('Sending');
  const relayBox = h('div', {});
  const keysBox = h('div', { id: 'dkim-list' });
  const state = { keys: [] };
  const keyForm = form({
    id: 'dkim-form',
    submitLabel: 'Generate key',
    fields: [
      h('div', { class: 'form-grid' },
        field({ label: 'Domain', name: 'domain', hint: 'The domain of your From addresses.', attrs: { autocomplete: 'off', spellcheck: 'false', placeholder: 'example.org' } }),
        field({ label: 'Selector', name: 'selector', value: 'postbode', hint: 'A name for this key, e.g. “pb2026”.', attrs: { autocomplete: 'off', spellcheck: 'false' } }),
        field({ label: 'Algorithm', name: 'algorithm', type: 'select', options: ALGORITHMS, value: 'rsa-sha256', hint: 'Not every receiver checks Ed25519 yet.' })),
    ],
    onSubmit: async (el, v) => {
      const domain = v.domain.trim().toLowerCase();
      const selector = v.selector.trim();
      if (state.keys.some((k) => k.domain === domain && k.selector === selector)) {
        const ok = await confirm({
          title: 'Replace the key?',
          message: `${domain} already has a key named ${selector}. A new key replaces it: until you publish the new TXT record, receivers cannot check your signatures.`,
          confirmLabel: 'Replace key',
        });
        if (!ok) return;
      }
      const key = await api.put('/settings/dkim', { domain, selector, algorithm: v.algorithm });
      toast(`Key ${key.selector} of ${key.domain} generated: publish its DNS record.`);
      await loadKeys(keysBox, state);
    },
  });
  clear(container).append(
    pageHeader('Sending', 'How your campaigns leave Postbode: the SMTP relay, and the DKIM keys that sign them.'),
    card('SMTP relay', h('p', { class: 'card-intro', text: 'The mail server of your provider that delivers campaigns. The password is stored encrypted and never shown again.' }), relayBox),
    card('DKIM keys', h('p', { class: 'card-intro', text: 'Postbode generates the key pair and keeps the private key encrypted; you publish the public key in your DNS.' }), keyForm, keysBox));
  await Promise.all([loadRelay(relayBox), loadKeys(keysBox, state)]);
}
