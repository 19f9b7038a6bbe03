// The test message: validated by the server, queued, then followed in place until it is read or
// has failed for good.

import { api, describe } from "./api.js";
import { formatTime } from "./times.js";

const FINAL = ["read", "failed", "cancelled", "expired"];
const TONES = {
  queued: "off",
  dispatched: "busy",
  sending: "busy",
  sent: "info",
  delivered: "ok",
  read: "ok",
  failed: "bad",
  unknown: "warn",
  cancelled: "off",
  expired: "warn",
  undelivered: "warn",
};
// Delivered-but-unread can last forever: stop following after this long.
const FOLLOW_MS = 10 * 60 * 1000;

export class TestMessage {
  constructor(section, { url, strings, onChange }) {
    this.section = section;
    this.url = url;
    this.S = strings;
    this.onChange = onChange;
    this.message = null;
    this.statusUrl = null;
    this.since = 0;
    this.form = section.querySelector("[data-test-form]");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    for (const radio of this.form.querySelectorAll("[data-test-type]")) {
      radio.addEventListener("change", () => this.showFields());
    }
    this.showFields();
  }

  // A text, an attachment or a location: only the fields of the chosen one show.
  chosenType() {
    const checked = this.form.querySelector("[data-test-type]:checked");
    return checked ? checked.value : "text";
  }

  showFields() {
    const type = this.chosenType();
    for (const part of this.form.querySelectorAll("[data-test-for]")) {
      part.hidden = !part.dataset.testFor.split(" ").includes(type);
    }
  }

  isBusy() {
    return !!this.message && !FINAL.includes(this.message.status) && this.following();
  }

  following() {
    return Date.now() - this.since < FOLLOW_MS;
  }

  fieldErrors(errors) {
    for (const slot of this.form.querySelectorAll("[data-field-error]")) {
      const messages = (errors && errors[slot.dataset.fieldError]) || [];
      slot.textContent = messages.join(" ");
      slot.hidden = messages.length === 0;
      const input = this.form.querySelector(`[name="${slot.dataset.fieldError}"]`);
      if (input) input.setAttribute("aria-invalid", messages.length ? "true" : "false");
    }
  }

  async send() {
    // An attachment goes as a multipart form; anything else as JSON.
    const form = new FormData(this.form);
    const type = this.chosenType();
    if (type !== "file") form.delete("file");
    const data = type === "file" ? form : Object.fromEntries(form);
    const button = this.form.querySelector('[type="submit"]');
    this.fieldErrors({});
    this.showError("");
    button.disabled = true;
    try {
      const answer = await api(this.url, { method: "POST", body: data });
      this.message = answer.message;
      this.statusUrl = answer.status_url;
      this.since = Date.now();
      this.draw();
      this.onChange();
    } catch (error) {
      if (error.errors) this.fieldErrors(error.errors);
      else this.showError(describe(error));
    } finally {
      button.disabled = false;
    }
  }

  async poll() {
    if (!this.isBusy()) return;
    try {
      const answer = await api(this.statusUrl);
      this.message = answer.message;
      this.showError("");
    } catch (error) {
      this.showError(describe(error));
    }
    this.draw();
  }

  showError(text) {
    const slot = this.section.querySelector("[data-test-error]");
    slot.textContent = text;
    slot.hidden = !text;
  }

  draw() {
    const m = this.message;
    const result = this.section.querySelector("[data-test-result]");
    result.hidden = !m;
    if (!m) return;
    const badge = this.section.querySelector("[data-test-badge]");
    badge.dataset.tone = TONES[m.status] || "off";
    badge.dataset.status = m.status;
    this.section.querySelector("[data-test-status]").textContent =
      this.S.messageLabels[m.status] || m.status;
    this.section.querySelector("[data-test-to]").textContent = `→ +${m.to}`;
    for (const slot of this.section.querySelectorAll("[data-test-time]")) {
      slot.textContent = formatTime(m[slot.dataset.testTime]);
    }
    if (m.status === "failed" && m.last_error) this.showError(m.last_error);
  }
}
