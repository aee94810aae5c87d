// The REST API as the pages use it: JSON in and out, the session's CSRF token on changes, and
// every error answer turned into an ApiError carrying the API's own message.

let csrfToken = null;

/** An error answer of the API (or a network failure, status 0). */
export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error : `HTTP ${status}`);
    this.status = status;
    this.detail = body ? body.detail : null;
  }
}

/** Remembers the CSRF token the session came with (sign-in, or GET /api/session). */
export function setCsrfToken(token) {
  csrfToken = token || null;
}

/** Sends a request; resolves to the JSON body (null for 204), rejects with ApiError. */
export async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (!['GET', 'HEAD'].includes(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch (e) {
    throw new ApiError(0, { error: `cannot reach the server (${e.message})` });
  }
  if (!response.ok) {
    let answer = null;
    try {
      answer = await response.json();
    } catch {
      answer = { error: `${response.status} ${response.statusText}` };
    }
    throw new ApiError(response.status, answer);
  }
  if (response.status === 204) return null;
  return response.json();
}

/** A query string of the non-empty values: {q: 'x', a: ''} -> 'q=x'. */
export function query(params) {
  const out = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && String(value).trim() !== '') out.set(key, value);
  }
  return out.toString();
}

let routes = null;

/**
 * Whether this server has a route (routes come with the server's version): asked of its
 * OpenAPI document, once per page load, so that no route is called just to find out (an
 * export, for one, is audited).
 */
export function hasRoute(path) {
  if (!routes) {
    routes = api('/api/openapi.json').then(
      (doc) => new Set(Object.keys(doc.paths || {})),
      () => new Set(),
    );
  }
  return routes.then((known) => known.has(path));
}
