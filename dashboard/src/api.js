// Calls to the JSON API with the session's CSRF token; failures become Errors whose
// message is the server's reason in words.
import { navigate, share } from "./state.js";

let csrf = null;

export function setCsrf(token) {
  csrf = token;
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// <html data-loading> while any request is under way: a progress bar for people, a signal for tests
let inflight = 0;
function busy(delta) {
  inflight += delta;
  document.documentElement.toggleAttribute("data-loading", inflight > 0);
}

async function call(method, path, body) {
  busy(1);
  try {
    return await send(method, path, body);
  } finally {
    busy(-1);
  }
}

async function send(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (share) headers["Authorization"] = `Bearer ${share.session}`;
  else if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: share ? "omit" : "same-origin",
    });
  } catch (e) {
    throw new ApiError(0, "The server cannot be reached. Is clicklake running?");
  }
  let data = null;
  try {
    data = await response.json();
  } catch (e) {
    data = null;
  }
  if (response.status === 401 && share) throw new ApiError(401, "This shared link's session has ended: open the link again.");
  if (response.status === 401 && path.startsWith("/api/") && path !== "/api/me") {
    // the session ended while the page was open: log in again, then come back here
    const next = location.pathname + location.search;
    navigate("/login", new URLSearchParams({ next }), { replace: true });
  }
  if (!response.ok) {
    const reason = (data && data.error) || `the server answered ${response.status}`;
    throw new ApiError(response.status, reason);
  }
  return data;
}

export const api = {
  me: () => call("GET", "/api/me"),
  loginMethods: () => call("GET", "/api/login-methods"),
  login: (email, password) => call("POST", "/login", { email, password }),
  logout: () => call("POST", "/logout", {}),
  query: (body) => call("POST", "/api/query", body),
  funnel: (body) => call("POST", "/api/funnel", body),
  experiment: (body) => call("POST", "/api/experiment", body),
  sql: (sql) => call("POST", "/api/sql", { sql }),
  // the reports of web/reports.py: retention, paths, attribution, affiliates, ecommerce, menus
  report: (name, body) => call("POST", `/api/${name}`, body),
};

// The management routes of the Settings and Live pages: a path and, for a change, a body.
export const rest = {
  get: (path) => call("GET", path),
  post: (path, body = {}) => call("POST", path, body),
  patch: (path, body) => call("PATCH", path, body),
  del: (path) => call("DELETE", path),
};
