// The inbox keeps its conversations and the open thread current without a reload, with the
// session page's polling rules: fast while a reply is on its way or the conversation just moved,
// slow otherwise, stopped while the tab is hidden. Each part is swapped only when the server's
// version of it changed, and the thread stays scrolled to its end when it was there.

import { api } from "./api.js";
import { Poller } from "./poll.js";
import { localize } from "./times.js";

const root = document.querySelector("[data-inbox]");

function replace(container, html) {
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  container.replaceChildren(...template.content.childNodes);
  localize(container);
}

function scrollToEnd(thread) {
  const list = thread?.querySelector(".thread");
  if (list) list.scrollTop = list.scrollHeight;
}

function atEnd(thread) {
  const list = thread?.querySelector(".thread");
  return !list || list.scrollHeight - list.scrollTop - list.clientHeight < 40;
}

async function refresh() {
  const url = new URL(root.dataset.updatesUrl, window.location.href);
  if (root.dataset.chat) {
    url.searchParams.set("instance", root.dataset.instance);
    url.searchParams.set("chat", root.dataset.chat);
  }
  const data = await api(url.toString());
  const conversations = root.querySelector("[data-conversations]");
  if (conversations && data.conversations.version !== conversations.dataset.version) {
    replace(conversations, data.conversations.html);
    conversations.dataset.version = data.conversations.version;
  }
  const thread = root.querySelector("[data-thread]");
  if (thread && data.thread) {
    thread.dataset.busy = data.thread.busy ? "1" : "";
    if (data.thread.version !== thread.dataset.version) {
      const follow = atEnd(thread);
      replace(thread, data.thread.html);
      thread.dataset.version = data.thread.version;
      if (follow) scrollToEnd(thread);
    }
  }
  root.dataset.updated = new Date().toISOString();
}

function busy() {
  return root.querySelector("[data-thread]")?.dataset.busy === "1";
}

if (root) {
  scrollToEnd(root.querySelector("[data-thread]"));
  // A reply is sent by the form itself (it works without scripts); no double submission.
  const form = root.querySelector("[data-reply]");
  form?.addEventListener("submit", () => {
    form.querySelector("button[type=submit]")?.setAttribute("disabled", "");
  });
  new Poller(refresh, { isBusy: busy }).start();
}
