// The messages page keeps its rows current in place, like the session page: fast while a message
// is on its way, slow when all have settled, stopped while the tab is hidden. A row whose
// message changed is swapped for the server's new rendering (its details stay open), so a cancel
// button never outlives the state that allowed it.

import { api } from "./api.js";
import { Poller } from "./poll.js";
import { localize } from "./times.js";

const IN_FLIGHT = ["queued", "dispatched", "sending", "unknown"];

const list = document.querySelector("[data-message-list]");

function rows() {
  return [...list.querySelectorAll("[data-message]")];
}

function busy() {
  return rows().some((row) => IN_FLIGHT.includes(row.dataset.status));
}

function swap(row, html) {
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  const fresh = template.content.firstElementChild;
  if (!fresh || fresh.dataset.version === row.dataset.version) return;
  const open = row.querySelector("details")?.open;
  if (open) fresh.querySelector("details")?.setAttribute("open", "");
  // Keep focus where it was when the focused control still exists in the new row.
  const focused = row.contains(document.activeElement) ? document.activeElement : null;
  row.replaceWith(fresh);
  localize(fresh);
  if (focused?.name) fresh.querySelector(`[name="${focused.name}"]`)?.focus();
  bindConfirm(fresh);
}

function bindConfirm(root) {
  for (const form of root.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
}

async function refresh() {
  const ids = rows().map((row) => row.dataset.message);
  if (!ids.length) return;
  const url = new URL(list.dataset.rowsUrl, window.location.href);
  url.searchParams.set("ids", ids.join(","));
  url.searchParams.set("next", list.dataset.next || "");
  const data = await api(url.toString());
  for (const row of rows()) {
    const fresh = data.rows[row.dataset.message];
    if (fresh) swap(row, fresh.html);
  }
  list.dataset.updated = new Date().toISOString();
}

if (list) {
  new Poller(refresh, { isBusy: busy }).start();
}
