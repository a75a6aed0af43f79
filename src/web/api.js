// The one client of the REST API: every screen talks to /api/v1 through it.
// Cookie session, the CSRF token on every unsafe method, and JSON errors
// turned into ApiError {status, code, hint, detail, field}.

const BASE = '/api/v1';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

let csrfToken = null;
let onUnauthenticated = null;

export class ApiError extends Error {
  constructor(status, body) {
    const b = body && typeof body === 'object' ? body : {};
    super(b.detail || b.hint || `The server answered ${status}.`);
    this.name = 'ApiError';
    this.status = status;
    this.code = typeof b.code === 'number' ? b.code : 0;
    this.hint = b.hint || '';
    this.detail = b.detail || '';
    this.field = b.field || null;
    this.retryAfter = null;
  }

  // The sentence to show a person: the detail (what went wrong here), else the hint.
  get text() {
    if (this.status === 429 && this.retryAfter) {
      return `Too many attempts. Wait ${this.retryAfter} seconds, then try again.`;
    }
    // Some details are written for API users ({"code": …}, /api/v1/…): the hint reads better then.
    const technical = /\{"|\{\\"|\/api\/v1|\b(?:GET|POST|PUT|PATCH|DELETE) \//.test(this.detail);
    const t = (technical && this.hint ? this.hint : this.detail) || this.hint || this.message;
    return t.charAt(0).toUpperCase() + t.slice(1);
  }
}

// Error codes the screens react to (src/core/err.def).
export const ERR = {
  UNAUTHENTICATED: 110,
  FORBIDDEN: 111,
  UNKNOWN_FIELD: 115,
  LOGIN_FAILED: 700,
  THROTTLED: 701,
  MFA_REQUIRED: 707,
  ENROLMENT_REQUIRED: 708,
  CSRF: 709,
  CONSENT_REQUIRED: 719,
};

export function setCsrfToken(token) {
  csrfToken = token || null;
}

// Called (once per failing request) when the server says the session is gone.
export function setUnauthenticatedHandler(fn) {
  onUnauthenticated = fn;
}

async function ensureCsrf() {
  if (csrfToken) return;
  const response = await fetch(`${BASE}/session`, { credentials: 'same-origin' });
  if (response.ok) {
    const body = await response.json();
    csrfToken = body.csrf_token || null;
  }
}

// request('GET', '/contacts', {query: {limit: 50}}) -> parsed JSON, or null for 204.
// options: body (JSON), raw (Blob/File sent as is), contentType, form (a FormData,
// sent as multipart/form-data), query, blob (true: the answer as a Blob).
export async function request(method, path, options = {}) {
  const headers = { 'X-Postbode-Channel': 'ui' };
  let body;
  if (options.form !== undefined) {
    body = options.form; // the browser writes the Content-Type with its boundary
  } else if (options.raw !== undefined) {
    body = options.raw;
    headers['Content-Type'] = options.contentType || 'application/octet-stream';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['Content-Type'] = 'application/json';
  }
  if (UNSAFE.has(method)) {
    await ensureCsrf();
    if (csrfToken) headers['X-CSRF-Token'] = csrfToken;
  }
  let url = BASE + path;
  if (options.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(options.query)) {
      if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    }
    const s = q.toString();
    if (s) url += `?${s}`;
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body, credentials: 'same-origin' });
  } catch {
    const err = new ApiError(0, { detail: 'The server could not be reached. Check your connection and try again.' });
    throw err;
  }
  if (response.status === 204) return null;
  if (response.ok && options.blob) return response.blob();
  const type = response.headers.get('Content-Type') || '';
  const parsed = type.includes('json') ? await response.json().catch(() => null) : null;
  if (response.ok) return parsed;
  const err = new ApiError(response.status, parsed);
  const retry = response.headers.get('Retry-After');
  if (retry) err.retryAfter = Number.parseInt(retry, 10) || null;
  if (response.status === 403 && err.code === ERR.CSRF) csrfToken = null;
  if (response.status === 401 && err.code === ERR.UNAUTHENTICATED && onUnauthenticated) {
    onUnauthenticated(err);
  }
  throw err;
}

export const api = {
  get: (path, query) => request('GET', path, { query }),
  post: (path, body) => request('POST', path, { body }),
  patch: (path, body) => request('PATCH', path, { body }),
  put: (path, body) => request('PUT', path, { body }),
  del: (path, body) => request('DELETE', path, body === undefined ? {} : { body }),
  upload: (path, file) => request('POST', path, { raw: file, contentType: file.type }),
  postForm: (path, formData) => request('POST', path, { form: formData }),
  blob: (path, query) => request('GET', path, { query, blob: true }),
};

// The session: who is signed in, or null when nobody is.
export async function loadSession() {
  try {
    const s = await request('GET', '/session');
    setCsrfToken(s.csrf_token);
    return s;
  } catch (err) {
    if (err.status === 401) {
      setCsrfToken(null);
      return null;
    }
    throw err;
  }
}
