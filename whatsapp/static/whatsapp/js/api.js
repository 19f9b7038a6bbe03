// fetch() for the dashboard's JSON endpoints: CSRF header, JSON both ways, and errors that carry
// the server's own message and HTTP status (never a bare "Error 400").

export class ApiError extends Error {
  constructor(message, { status = 0, code = "", errors = null } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.errors = errors;
  }
}

let strings = {
  networkError: "The server could not be reached.",
  badAnswer: "The server's answer could not be read.",
};

export function setApiStrings(values) {
  strings = { ...strings, ...values };
}

export function format(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => String(values[key] ?? ""));
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && meta.content) return meta.content;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function api(url, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json", "X-Requested-With": "XMLHttpRequest" };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (method !== "GET") {
    headers["X-CSRFToken"] = csrfToken();
    if (body instanceof FormData) {
      init.body = body; // multipart, with its boundary set by the browser
    } else {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body ?? {});
    }
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError(strings.networkError, { status: 0, code: "network" });
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok || !data || data.success === false) {
    const message = (data && data.message) || strings.badAnswer;
    throw new ApiError(message, {
      status: response.status,
      code: (data && data.code) || "",
      errors: (data && data.errors) || null,
    });
  }
  return data;
}

// What an error box shows: the server's reason, in the reader's words. The HTTP status is for
// developers (the browser's console), not for the people operating the dashboard.
export function describe(error) {
  if (error instanceof ApiError && error.status) {
    console.info(`[whatsapp] HTTP ${error.status} ${error.code}: ${error.message}`);
  }
  return error && error.message ? error.message : String(error);
}
