// The session page: one state object, redrawn after every answer. Sections switch in place as the
// stored state changes; the page never reloads itself. It starts a session on its own only once
// per page load (and after a logout the person asked for), so it cannot loop.

import { api, describe, setApiStrings } from "./api.js";
import { Poller } from "./poll.js";
import { render, tick } from "./session-view.js";
import { TestMessage } from "./test-message.js";

const CHANGING = ["INITIALIZING", "QRCODE", "PHONECODE"];
const METHOD_KEY = "leguas.whatsapp.connectMethod";

const root = document.getElementById("session-app");
const initial = JSON.parse(document.getElementById("session-state").textContent);
const S = initial.strings;
setApiStrings(S);

const state = {
  session: initial.session,
  code: initial.code,
  configured: initial.configured,
  canOperate: initial.canOperate,
  urls: initial.urls,
  strings: S,
  method: readMethod(),
  ops: new Map(), // operations this page follows, by id
  updatedAt: null,
};
for (const op of initial.operations) follow(op);

function readMethod() {
  try {
    return window.localStorage.getItem(METHOD_KEY) === "code" ? "code" : "qr";
  } catch {
    return "qr";
  }
}

function setMethod(method) {
  state.method = method;
  try {
    window.localStorage.setItem(METHOD_KEY, method);
  } catch {
    // Private mode: the choice lasts for this page only.
  }
}

function follow(op) {
  const known = state.ops.get(op.id);
  state.ops.set(op.id, { ...op, seenAt: performance.now(), handled: known?.handled ?? false });
}

export function activeOp(kind) {
  for (const op of state.ops.values()) {
    if ((!kind || op.kind === kind) && (op.status === "pending" || op.status === "running")) {
      return op;
    }
  }
  return null;
}

// -- messages on the page --------------------------------------------------------------------

const errorBox = root.querySelector("[data-error]");
const noticeBox = root.querySelector("[data-notice]");
let errorFromPoll = false;
let errorAbout = null; // the session state an error was about
let noticeTimer = null;

// What an error is about: once the session is in another state, the error no longer applies.
function stateKey(session) {
  return [session.status, session.connected, session.outage?.reason || ""].join("|");
}

function showError(text, { fromPoll = false } = {}) {
  errorBox.textContent = text;
  errorBox.hidden = false;
  errorFromPoll = fromPoll;
  errorAbout = stateKey(state.session);
}

function clearError({ pollOnly = false } = {}) {
  if (pollOnly && !errorFromPoll) return;
  errorBox.hidden = true;
  errorBox.textContent = "";
  errorAbout = null;
}

function clearStaleError() {
  if (errorAbout !== null && errorAbout !== stateKey(state.session)) clearError();
}

function notice(text) {
  noticeBox.textContent = text;
  noticeBox.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    noticeBox.hidden = true;
  }, 6000);
}

// -- talking to the server -------------------------------------------------------------------

async function operate(kind, body) {
  clearError();
  try {
    const data = await api(state.urls[kind], { method: "POST", body });
    follow(data.operation);
    redraw();
    poller.now();
    return data.operation;
  } catch (error) {
    showError(describe(error));
    if (error.errors) fieldErrors(root.querySelector('[data-block="pairing-form"]'), error.errors);
    redraw();
    return null;
  }
}

function finished(op) {
  if (op.status === "failed") {
    showError(op.error || S.failed);
    return;
  }
  clearError();
  notice(S.opDone[op.kind] || "");
  const result = op.result || {};
  if (op.kind === "start" && result.state) {
    state.session = { ...state.session, status: result.state, connected: !!result.connected };
    if (result.qrcode) state.code = { ...state.code, qrcode: result.qrcode };
    if (result.pairing_code) state.code = { ...state.code, pairingCode: result.pairing_code };
  }
  if (op.kind === "logout") {
    // The person logged out to link again: bring the QR (or the code form) back by itself.
    state.session = { ...state.session, connected: false, status: result.state || "CLOSED" };
    autoStart();
  }
}

async function refreshOperations() {
  for (const op of [...state.ops.values()]) {
    if (op.handled) continue;
    if (op.status === "pending" || op.status === "running") {
      const data = await api(op.url);
      follow(data.operation);
    }
    const current = state.ops.get(op.id);
    if (current.status === "succeeded" || current.status === "failed") {
      current.handled = true;
      finished(current);
    }
  }
}

async function pollOnce() {
  try {
    const data = await api(state.urls.status);
    state.session = data.session;
    for (const op of data.operations) follow(op);
    await refreshOperations();
    if (["QRCODE", "PHONECODE"].includes(state.session.status)) {
      const code = await api(state.urls.qrcode);
      state.code = code;
    }
    state.updatedAt = new Date();
    clearError({ pollOnly: true });
    clearStaleError();
    if (startWhenReachable && !state.session.outage) autoStart();
  } catch (error) {
    showError(describe(error), { fromPoll: true });
  }
  await testMessage.poll();
  redraw();
}

// Set at page load; a page opened during a gateway outage starts once the gateway is back.
let startWhenReachable = true;

function autoStart() {
  const s = state.session;
  if (!state.canOperate || !state.configured || !s.enabled) return;
  if (s.outage) return; // nothing can start now: try again once the gateway answers
  startWhenReachable = false;
  if (s.status !== "CLOSED" || activeOp("start")) return;
  if (state.method === "code") return; // the form asks for the phone first
  operate("start");
}

// -- drawing ---------------------------------------------------------------------------------

function redraw() {
  render(root, state, { activeOp });
}

// Just connected, the phone and device come with the next gateway read: keep polling fast.
function detailsPending() {
  return state.session.connected && !state.session.phone;
}

const poller = new Poller(pollOnce, {
  isBusy: () =>
    !!activeOp() ||
    CHANGING.includes(state.session.status) ||
    !!state.session.outage || // see the gateway come back soon after it does
    detailsPending() ||
    testMessage.isBusy(),
});

const testMessage = new TestMessage(root.querySelector("#test-message"), {
  url: state.urls.sendTest,
  strings: S,
  onChange: () => poller.now(),
});

// -- controls --------------------------------------------------------------------------------

const dialog = root.querySelector("[data-confirm]");

function confirmAction(text) {
  if (!dialog || typeof dialog.showModal !== "function") return Promise.resolve(true);
  dialog.querySelector("[data-confirm-text]").textContent = text;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

export function fieldErrors(form, errors) {
  if (!form) return;
  for (const slot of form.querySelectorAll("[data-field-error]")) {
    const messages = (errors && errors[slot.dataset.fieldError]) || [];
    slot.textContent = messages.join(" ");
    slot.hidden = messages.length === 0;
    const input = form.querySelector(`[name="${slot.dataset.fieldError}"]`);
    if (input) input.setAttribute("aria-invalid", messages.length ? "true" : "false");
  }
}

root.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-action]");
  if (!button || button.disabled) return;
  const action = button.dataset.action;
  if (action === "start") operate("start");
  if (action === "refresh" || action === "check-again") operate("refresh");
  if (action === "refresh-qr") {
    // A closed session has no QR left to fetch: start a new one instead.
    if (state.session.status === "CLOSED") operate("start");
    else poller.now();
  }
  if (action === "logout" && (await confirmAction(S.confirmLogout))) operate("logout");
  if (action === "close" && (await confirmAction(S.confirmClose))) operate("close");
  if (action === "use-pairing") {
    setMethod("code");
    redraw();
    root.querySelector("#pairing-phone")?.focus();
  }
  if (action === "use-qr") {
    setMethod("qr");
    fieldErrors(root.querySelector('[data-block="pairing-form"]'), {});
    // A pairing code on screen: start again without a phone (the worker waits for the code to
    // lapse first). A QR still on screen needs nothing: it shows again.
    if (state.session.status === "PHONECODE") operate("start");
    else autoStart();
    redraw();
  }
});

root.querySelector('[data-block="pairing-form"]').addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const phone = form.querySelector('[name="phone"]').value.trim();
  if (!phone) {
    // An empty phone would start a QR session instead: ask for it here.
    fieldErrors(form, { phone: [S.phoneRequired] });
    return;
  }
  fieldErrors(form, {});
  operate("start", { phone });
});

// -- go --------------------------------------------------------------------------------------

window.setInterval(() => tick(root, state), 1000);
redraw();
autoStart();
poller.start();
