// Draws the session page from the state: which view of the connect card shows, the badge, the
// QR or code, an outage, the progress of a running operation. Pure DOM updates; no requests.

import { format } from "./api.js";
import { formatTime } from "./times.js";

const TONES = {
  CONNECTED: "ok",
  INITIALIZING: "busy",
  QRCODE: "busy",
  PHONECODE: "busy",
  CLOSED: "off",
  UNKNOWN: "warn",
};

const $ = (root, selector) => root.querySelector(selector);
const block = (root, name) => root.querySelector(`[data-block="${name}"]`);

function show(element, visible) {
  if (element && element.hidden === visible) element.hidden = !visible;
}

function setText(element, text) {
  if (element && element.textContent !== text) element.textContent = text;
}

function formatPhone(digits) {
  return digits ? `+${String(digits).replace(/^\+/, "")}` : "—";
}

function elapsed(op) {
  const base = op.elapsed_seconds ?? 0;
  return Math.max(0, Math.round(base + (performance.now() - op.seenAt) / 1000));
}

export function isConnected(session) {
  return session.connected && session.status === "CONNECTED" && !session.outage;
}

// The one view of the connect card for this state. Every view leaves something to click: the
// settings, a button, or a running operation that ends by itself.
export function connectView(state, activeOp) {
  const { session, method } = state;
  if (!session.enabled) return "disabled";
  if (!state.configured) return "unconfigured";
  if (session.outage) return "outage";
  if (activeOp("start")) return "starting";
  if (session.status === "QRCODE") return method === "code" ? "pairing-form" : "qr";
  if (session.status === "PHONECODE") return "code";
  if (session.status === "INITIALIZING") return "gateway-starting";
  return method === "code" ? "pairing-form" : "closed";
}

function opLabel(op, state) {
  const S = state.strings;
  if (op.kind === "start" && op.with_phone && state.session.status === "QRCODE") return S.switchingToCode;
  if (op.kind === "start" && !op.with_phone && state.session.status === "PHONECODE") return S.switchingToQr;
  if (op.kind === "start" && op.with_phone) return S.askingCode;
  return S.opRunning[op.kind] || "";
}

function drawProgress(element, op, state) {
  show(element, !!op);
  if (!op) return;
  const S = state.strings;
  setText($(element, "[data-op-label]"), opLabel(op, state));
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
  const tone = session.outage ? "bad" : TONES[session.status] || "warn";
  if (badge.dataset.tone !== tone) badge.dataset.tone = tone;
  const label = session.outage
    ? S.gatewayDown
    : session.status_label || S.statusLabels[session.status];
  setText($(badge, "[data-status-text]"), label);
}

function drawConnect(root, state, activeOp, connected) {
  const { session, code, strings: S } = state;
  const view = connectView(state, activeOp);
  show($(root, '[data-section="connect"]'), !connected && view !== "outage");
  show(block(root, "disabled"), view === "disabled");
  show(block(root, "unconfigured"), view === "unconfigured");
  const start = activeOp("start");
  drawProgress(block(root, "progress"), view === "starting" ? start : null, state);

  show(block(root, "qr"), view === "qr" && !!code.qrcode);
  const img = $(root, "[data-qr-img]");
  if (view === "qr" && code.qrcode && img.getAttribute("src") !== code.qrcode) {
    img.setAttribute("src", code.qrcode);
  }

  show(block(root, "pairing"), view === "code");
  setText($(root, "[data-pairing-code]"), code.pairingCode || session.pairing_code || S.pairingWaiting);

  show(block(root, "closed"), view === "closed" || view === "gateway-starting");
  setText(
    $(root, "[data-closed-text]"),
    view === "gateway-starting" ? S.gatewayStarting : S.closedHint,
  );
  show(block(root, "pairing-form"), view === "pairing-form" && state.canOperate);
  show($(root, "[data-switch-hint]"), view === "pairing-form" && session.status === "QRCODE");

  show($(root, '[data-action="start"]'), view === "closed");
  show($(root, '[data-action="use-pairing"]'), view === "closed" || view === "qr");
  show($(root, '[data-action="use-qr"]'), view === "pairing-form" || view === "code");
}

function fillChecks(list, checks) {
  const key = JSON.stringify(checks);
  if (list.dataset.drawn === key) return;
  list.dataset.drawn = key;
  list.replaceChildren(
    ...checks.map((check) => {
      const item = document.createElement("li");
      // `code` spans, as the server's template draws them.
      check.split("`").forEach((part, n) => {
        if (n % 2) {
          const code = document.createElement("code");
          code.textContent = part;
          item.append(code);
        } else {
          item.append(part);
        }
      });
      return item;
    }),
  );
}

function drawOutage(root, session) {
  const card = $(root, '[data-section="outage"]');
  const outage = session.outage;
  show(card, !!outage);
  if (!outage) return;
  const slot = (name) => $(card, `[data-outage="${name}"]`);
  setText(slot("title"), outage.title);
  setText(slot("detail"), outage.detail);
  setText(slot("since"), formatTime(outage.since));
  setText(slot("reason"), `(${outage.reason_label})`);
  setText(slot("waiting"), outage.waiting_text);
  show(slot("gateway-said"), !!outage.gateway_said);
  setText($(slot("gateway-said"), "span"), outage.gateway_said || "");
  fillChecks(slot("checks"), outage.checks || []);
}

function drawInfo(root, session) {
  show($(root, '[data-section="info"]'), isConnected(session));
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
    "check-again": usable && !activeOp("refresh"),
    logout: usable && connected && !activeOp("logout"),
    close: usable && connected && !activeOp("close"),
  };
  for (const [action, on] of Object.entries(enable)) {
    for (const button of root.querySelectorAll(`[data-action="${action}"]`)) {
      button.disabled = !on;
    }
  }
  const running = ["logout", "close", "refresh"].map(activeOp).find(Boolean) || null;
  drawProgress(block(root, "action-progress"), running, state);
  const updated = $(root, "[data-updated]");
  if (state.updatedAt) {
    setText(
      updated,
      format(state.strings.updatedAt, { time: formatTime(state.updatedAt.toISOString(), "time") }),
    );
  }
}

export function render(root, state, { activeOp }) {
  const connected = isConnected(state.session);
  drawBadge(root, state.session, state.strings);
  drawOutage(root, state.session);
  drawConnect(root, state, activeOp, connected);
  drawInfo(root, state.session);
  drawActions(root, state, activeOp, connected);
  for (const button of root.querySelectorAll("[data-needs-operate]")) {
    if (!state.canOperate) button.disabled = true;
  }
  tick(root, state);
}
