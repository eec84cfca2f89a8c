// One WebSocket per page to /api/v1/stream: reconnects with backoff and resumes from the last
// event id (kept in sessionStorage), then updates the notification badge, the notifications
// page and the chat page. Every event is also re-dispatched as a DOM event "smile:<kind>".
(function () {
  "use strict";
  const KEY = "smile-stream-cursor";
  let socket = null;
  let delay = 1000;
  const typingTimers = {};

  function streamUrl() {
    const cursor = sessionStorage.getItem(KEY);
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const valid = cursor && /^\d+$/.test(cursor);
    return `${scheme}//${location.host}/api/v1/stream${valid ? `?cursor=${cursor}` : ""}`;
  }

  // The page signs in with its session cookie (same origin); the server refuses a handshake
  // without one with HTTP 401 before the upgrade, which a browser reports only as a close.
  function connect() {
    let opened = false;
    socket = new WebSocket(streamUrl(), ["smile.v1"]);
    socket.onopen = () => { opened = true; delay = 1000; };
    socket.onmessage = (e) => {
      let event;
      try { event = JSON.parse(e.data); } catch (_) { return; }
      if (event.id != null) sessionStorage.setItem(KEY, String(event.id));
      if (event.kind === "ready" && event.payload.cursor) sessionStorage.setItem(KEY, String(event.payload.cursor));
      if (event.kind === "ready" && event.payload.truncated && (chat() || document.getElementById("notif-list"))) {
        location.reload(); // missed too much to replay: show the current state instead
        return;
      }
      handle(event);
      document.dispatchEvent(new CustomEvent(`smile:${event.kind}`, { detail: event }));
    };
    socket.onclose = () => {
      socket = null;
      const retry = () => {
        setTimeout(connect, delay + Math.random() * 500);
        delay = Math.min(delay * 2, 30000);
      };
      if (opened) { retry(); return; }
      // Refused before it opened: signed out (stop), or the server is away (try again later).
      fetch("/api/v1/notifications/unread-count", { credentials: "same-origin" })
        .then((r) => { if (r.status !== 401) retry(); }, retry);
    };
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  async function fetchHtml(url) {
    const r = await fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" });
    return r.ok ? r.text() : null;
  }

  function setBadge(unread) {
    const badge = document.getElementById("notif-badge");
    if (!badge) return;
    badge.textContent = unread > 99 ? "99+" : String(unread);
    badge.hidden = !unread;
    badge.setAttribute("aria-label", `${unread} unread notifications`);
  }

  function chat() { return document.getElementById("chat"); }

  let pendingRead = Promise.resolve();
  function refreshBadge() {
    return fetch("/api/v1/notifications/unread-count", { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : null)).then((body) => { if (body) setBadge(body.unread); });
  }

  // On the notifications page a new notification is seen as it arrives (or when the tab
  // comes back into view): mark it read.
  function markSeen(id) {
    return fetch("/api/v1/notifications/read", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": document.body.dataset.csrf },
      body: JSON.stringify(id ? { ids: [id] } : { all: true }),
    }).then((r) => (r.ok ? r.json() : null)).then((body) => { if (body) setBadge(body.unread); }).catch(() => null);
  }
  document.addEventListener("visibilitychange", () => {
    const badge = document.getElementById("notif-badge");
    if (!document.hidden && document.getElementById("notif-list") && badge && !badge.hidden) markSeen(null);
  });

  async function onNotification(event) {
    const note = event.payload.notification;
    const box = chat();
    const list = document.getElementById("notif-list");
    if (note && note.kind === "message" && box && box.dataset.conversation === note.conversation_id) {
      pendingRead.then(refreshBadge); // this chat is open: its read receipt clears the notification
    } else if (list && note && !document.hidden) {
      markSeen(note.id);
    } else {
      setBadge(event.payload.unread);
    }
    if (!list || !note || document.getElementById(`notif-${note.id}`)) return;
    const html = await fetchHtml(`/notifications/item/${note.id}`);
    if (html && !document.getElementById(`notif-${note.id}`)) {
      list.insertAdjacentHTML("afterbegin", html);
      document.getElementById("notif-empty")?.remove();
    }
  }

  async function onMessage(event) {
    const message = event.payload.message;
    const box = chat();
    if (!message) return;
    if (!box || box.dataset.conversation !== message.conversation_id) {
      const list = document.getElementById("conversation-list");
      if (list) {
        const html = await fetchHtml("/messages/list");
        if (html) list.innerHTML = html;
      }
      return;
    }
    const mine = message.sender && message.sender.id === box.dataset.me;
    if (!mine) { // read receipt first (synchronously), so a following notification waits for it
      pendingRead = fetch(`/api/v1/conversations/${message.conversation_id}/read`, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": document.body.dataset.csrf },
        body: JSON.stringify({ message_id: message.id }),
      }).catch(() => null);
      const typing = document.getElementById("typing");
      if (typing) typing.textContent = "";
    }
    document.getElementById("seen").textContent = "";
    if (!document.getElementById(`msg-${message.id}`)) {
      const html = await fetchHtml(`/messages/${message.conversation_id}/m/${message.id}`);
      if (html && !document.getElementById(`msg-${message.id}`)) {
        document.getElementById("chat-log").insertAdjacentHTML("beforeend", html);
        document.getElementById("chat-empty")?.remove();
        box.querySelector(`#msg-${CSS.escape(message.id)}`)?.scrollIntoView({ block: "end" });
      }
    }
  }

  function onTyping(event) {
    const box = chat();
    const p = event.payload;
    if (!box || box.dataset.conversation !== p.conversation_id) return;
    const line = document.getElementById("typing");
    line.textContent = `${p.user.display_name}${p.user.is_ai ? " 🤖" : ""} is typing…`;
    clearTimeout(typingTimers[p.conversation_id]);
    typingTimers[p.conversation_id] = setTimeout(() => { line.textContent = ""; }, 4000);
  }

  function onRead(event) {
    const box = chat();
    const p = event.payload;
    if (!box || box.dataset.conversation !== p.conversation_id) return;
    const names = JSON.parse(box.dataset.names || "{}");
    const last = document.querySelector("#chat-log > li:last-child");
    if (last && last.id === `msg-${p.message_id}` && last.classList.contains("mine")) {
      document.getElementById("seen").textContent = `Seen by ${names[p.user_id] || "someone"}`;
    }
  }

  // A new post in my home timeline: reveal the page's "new posts" link (if it has one).
  function onPost() {
    const link = document.getElementById("new-posts");
    if (!link) return;
    const count = Number(link.dataset.count || 0) + 1;
    link.dataset.count = String(count);
    link.hidden = false;
    const label = link.querySelector("[data-count]");
    if (label) label.textContent = String(count);
  }

  function handle(event) {
    if (event.kind === "notification") onNotification(event);
    else if (event.kind === "unread") setBadge(event.payload.unread); // read in this or another tab
    else if (event.kind === "message") onMessage(event);
    else if (event.kind === "typing") onTyping(event);
    else if (event.kind === "read") onRead(event);
    else if (event.kind === "post") onPost(event);
  }

  // Tell the others in this chat that I am typing (at most every 3 seconds).
  let lastTyping = 0;
  document.addEventListener("input", (e) => {
    const box = chat();
    if (!box || e.target.id !== "chat-body") return;
    const now = Date.now();
    if (now - lastTyping < 3000) return;
    lastTyping = now;
    send({ type: "typing", conversation_id: box.dataset.conversation });
  });

  window.smileStream = { send };
  connect();
})();
