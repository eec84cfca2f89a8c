// The chat page: opens at the newest message, loads older pages when you scroll up (or press
// "Load older messages"), and lets the form attach images (uploaded first to /api/v1/media).
// Loaded without defer at the end of the page, so smileChatForm is registered before Alpine (its CSP
// build: the template's attributes only name these methods) starts.
"use strict";

function smileChatLog() { return document.getElementById("chat-log"); }

// The log scrolls itself on wide screens; on phones the page scrolls.
function smileChatScrolls(log) {
  return log.scrollHeight > log.clientHeight + 1 && getComputedStyle(log).overflowY !== "visible";
}

function smileChatToBottom() {
  const log = smileChatLog();
  if (!log) return;
  if (smileChatScrolls(log)) log.scrollTop = log.scrollHeight;
  const form = document.querySelector(".chat-form");
  if (form && form.getBoundingClientRect().bottom > window.innerHeight) form.scrollIntoView({ block: "end" });
}

async function smileChatLoadOlder(button) {
  const item = button.closest("li");
  if (!item || button.disabled) return;
  button.disabled = true;
  button.textContent = "Loading…";
  const log = smileChatLog();
  const before = { log: log.scrollHeight, page: document.documentElement.scrollHeight };
  let html = null;
  try {
    const r = await fetch(button.dataset.olderUrl, { headers: { "HX-Request": "true" }, credentials: "same-origin" });
    if (r.ok) html = await r.text();
  } catch (_) { /* offline: let the person try again */ }
  if (html === null) {
    button.disabled = false;
    button.textContent = "Could not load older messages — try again";
    return;
  }
  item.insertAdjacentHTML("afterend", html);
  item.remove();
  // Keep the messages that were on screen where they were.
  if (smileChatScrolls(log)) log.scrollTop += log.scrollHeight - before.log;
  else window.scrollBy(0, document.documentElement.scrollHeight - before.page);
  smileChatWatchOlder();
}

// Scrolling the "load older" control into view loads the previous page.
let smileChatObserver = null;
function smileChatWatchOlder() {
  const button = document.querySelector("#chat-older button");
  if (!button || !("IntersectionObserver" in window)) return;
  smileChatObserver?.disconnect();
  smileChatObserver = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) {
      smileChatObserver.disconnect();
      smileChatLoadOlder(button);
    }
  });
  smileChatObserver.observe(button);
}

document.addEventListener("click", (e) => {
  const button = e.target.closest("#chat-older button");
  if (button) smileChatLoadOlder(button);
});

document.addEventListener("DOMContentLoaded", () => {
  if (!smileChatLog()) return;
  document.documentElement.style.overflowAnchor = "none"; // chat.js keeps the position itself
  smileChatLog().style.overflowAnchor = "none";
  smileChatToBottom();
  requestAnimationFrame(smileChatWatchOlder); // after the jump to the newest message
  // A picture that finishes loading while you are at the newest message keeps you there.
  const log = smileChatLog();
  let atBottom = true;
  log.addEventListener("scroll", () => { atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40; });
  log.addEventListener("load", (e) => {
    if (atBottom && e.target.tagName === "IMG" && smileChatScrolls(log)) log.scrollTop = log.scrollHeight;
  }, true);
});

document.addEventListener("alpine:init", () => window.Alpine.data("smileChatForm", smileChatForm));

function smileChatForm() {
  return {
    media: [], uploading: false,
    error(message) {
      const box = document.getElementById("chat-error");
      box.replaceChildren();
      if (!message) return;
      const p = document.createElement("p");
      p.className = "chat-error flash flash-error";
      p.setAttribute("role", "alert");
      p.textContent = message;
      box.append(p);
    },
    enter(event) { // Enter sends, Shift+Enter starts a new line
      if (event.shiftKey) return;
      event.preventDefault();
      this.submit();
    },
    submit() {
      if (this.uploading) return;
      if (this.$root.querySelector("#chat-body").value.trim() || this.media.length) this.$root.requestSubmit();
    },
    async attach(event) {
      const files = Array.from(event.target.files || []);
      event.target.value = "";
      if (this.media.length + files.length > 4) { this.error("Attach up to 4 images or 1 video."); return; }
      this.uploading = true;
      this.error("");
      for (const file of files) {
        const item = { id: null, preview: URL.createObjectURL(file), name: file.name };
        this.media.push(item);
        const data = new FormData();
        data.append("file", file);
        data.append("alt", "");
        let r = null;
        try {
          r = await fetch("/api/v1/media", { method: "POST", body: data, credentials: "same-origin",
                                            headers: { "X-CSRF-Token": document.body.dataset.csrf } });
        } catch (_) { r = null; }
        const at = this.media.findIndex((m) => m.preview === item.preview);
        if (r && r.ok) {
          const uploaded = await r.json();
          if (at >= 0) this.media[at] = { ...item, id: uploaded.id };
        } else {
          if (at >= 0) this.media.splice(at, 1);
          const body = r ? await r.json().catch(() => ({})) : {};
          this.error(body.detail || "The upload failed; try again.");
        }
      }
      this.uploading = false;
    },
    sent(event) {
      if (event.detail.elt !== this.$root || !event.detail.successful) return;
      if (event.detail.xhr.getResponseHeader("HX-Retarget")) return; // refused: keep what was typed
      this.$root.reset();
      this.media.forEach((m) => URL.revokeObjectURL(m.preview));
      this.media = [];
      this.error("");
      document.getElementById("chat-empty")?.remove();
      smileChatToBottom();
    },
  };
}
