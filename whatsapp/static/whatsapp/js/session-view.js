// Draws the session page from the state: which sections show, the badge, the QR or code, the
// progress of a running operation. Pure DOM updates; no requests here.

import { format } from "./api.js";

const TONES = {
  CONNECTED: "ok",
  INITIALIZING: "busy",
  QRCODE: "busy",
  PHONECODE: "busy",
  CLOSED: "off",
  UNKNOWN: "warn",
};
const NOT_STARTED = ["CLOSED", "UNKNOWN"];

const $ = (root, selector) => root.querySelector(selector);
const block = (root, name) => root.querySelector(`[data-block="${name}"]`);

function show(element, visible) {
  if (element && element.hidden === visible) element.hidden = !visible;
}

function setText(element, text) {
  if (element && element.textContent !== text) element.textContent = text;
}

export function formatTime(iso) {
  if (!iso) return "—";
  const lang = document.documentElement.lang || undefined;
  return new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "medium" }).format(
    new Date(iso),
  );
}

function formatPhone(digits) {
  return digits ? `+${String(digits).replace(/^\+/, "")}` : "—";
}

function elapsed(op) {
  const base = op.elapsed_seconds ?? 0;
  return Math.max(0, Math.round(base + (performance.now() - op.seenAt) / 1000));
}

function drawProgress(element, op, S) {
  show(element, !!op);
  if (!op) return;
  setText($(element, "[data-op-label]"), S.opRunning[op.kind] || "");
  setText($(element, "[data-op-elapsed]"), format(S.elapsed, { seconds: elapsed(op) }));
  setText($(element, "[data-op-hint]"), S.mayTake);
}

function qrRemaining(code) {
  if (!code.expires_at || !code.produced_at) return null;
  const lifetime = (Date.parse(code.expires_at) - Date.parse(code.produced_at)) / 1000;
  const left = (Date.parse(code.expires_at) - Date.now()) / 1000;
  return Math.max(0, Math.min(lifetime, Math.ceil(left)));
}

// Once a second: elapsed times and the QR countdown move without any request.
export function tick(root, state) {
  const S = state.strings;
  for (const op of state.ops.values()) {
    if (op.status !== "pending" && op.status !== "running") continue;
    const where = op.kind === "start" ? "progress" : "action-progress";
    setText($(block(root, where), "[data-op-elapsed]"), format(S.elapsed, { seconds: elapsed(op) }));
  }
  const countdown = $(root, "[data-qr-countdown]");
  const left = qrRemaining(state.code);
  if (left === null) setText(countdown, "");
  else if (left > 0) setText(countdown, format(S.qrCountdown, { seconds: left }));
  else setText(countdown, S.qrExpired);
}

function drawBadge(root, session, S) {
  const badge = $(root, "[data-status-badge]");
  badge.dataset.tone = TONES[session.status] || "warn";
  setText($(badge, "[data-status-text]"), session.status_label || S.statusLabels[session.status]);
}

function drawConnect(root, state, activeOp, connected) {
  const { session, code, method, strings: S } = state;
  const start = activeOp("start");
  const usable = session.enabled && state.configured;
  const notStarted = NOT_STARTED.includes(session.status);
  const qr = session.status === "QRCODE" && code.qrcode;
  const pairing = code.pairingCode || session.pairing_code;

  show($(root, '[data-section="connect"]'), !connected);
  show(block(root, "disabled"), !session.enabled);
  show(block(root, "unconfigured"), session.enabled && !state.configured);
  drawProgress(block(root, "progress"), start, S);

  show(block(root, "qr"), !!qr);
  const img = $(root, "[data-qr-img]");
  if (qr && img.getAttribute("src") !== code.qrcode) img.setAttribute("src", code.qrcode);

  show(block(root, "pairing"), session.status === "PHONECODE");
  setText($(root, "[data-pairing-code]"), pairing || S.pairingWaiting);

  show(block(root, "closed"), usable && notStarted && !start && method === "qr");
  const formShown = usable && method === "code" && !start && session.status !== "PHONECODE";
  show(block(root, "pairing-form"), formShown && state.canOperate);

  show($(root, '[data-action="start"]'), usable && notStarted && !start && method === "qr");
  show($(root, '[data-action="use-pairing"]'), usable && method === "qr");
  show($(root, '[data-action="use-qr"]'), usable && method === "code");
}

function drawInfo(root, session) {
  show($(root, '[data-section="info"]'), session.connected && session.status === "CONNECTED");
  const device = session.device || {};
  setText($(root, '[data-info="phone"]'), formatPhone(session.phone));
  setText($(root, '[data-info="status"]'), session.status_label || session.status);
  setText($(root, '[data-info="device"]'), device.pushname || "—");
  setText($(root, '[data-info="platform"]'), device.platform || "—");
  setText($(root, '[data-info="since"]'), formatTime(session.connected_since));
}

function drawActions(root, state, activeOp, connected) {
  const usable = state.canOperate && state.session.enabled && state.configured;
  const enable = {
    refresh: usable && !activeOp("refresh"),
    logout: usable && connected && !activeOp("logout"),
    close: usable && connected && !activeOp("close"),
  };
  for (const [action, on] of Object.entries(enable)) {
    const button = $(root, `[data-action="${action}"]`);
    if (button) button.disabled = !on;
  }
  const running = ["logout", "close", "refresh"].map(activeOp).find(Boolean) || null;
  drawProgress(block(root, "action-progress"), running, state.strings);
  const updated = $(root, "[data-updated]");
  if (state.updatedAt) {
    setText(updated, format(state.strings.updatedAt, { time: state.updatedAt.toLocaleTimeString(document.documentElement.lang || undefined) }));
  }
}

export function render(root, state, { activeOp }) {
  const connected = state.session.connected && state.session.status === "CONNECTED";
  drawBadge(root, state.session, state.strings);
  drawConnect(root, state, activeOp, connected);
  drawInfo(root, state.session);
  drawActions(root, state, activeOp, connected);
  for (const button of root.querySelectorAll("[data-needs-operate]")) {
    if (!state.canOperate) button.disabled = true;
  }
  tick(root, state);
}
