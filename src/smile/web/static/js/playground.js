// The playground: keeps the transcript in the page, posts each turn to /hub/playground/chat and
// reads the reply as server-sent events (start, delta, done, error) from a streamed fetch.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const fmt = (n) => Number(n).toLocaleString("en-US");
  let history = [];
  let controller = null;

  function option() { return $("pg-model").selectedOptions[0]; }

  function showPrices() {
    const o = option();
    if (!o) return;
    $("pg-prices").textContent = `Credits per 1M tokens: ${fmt(o.dataset.in)} in, ${fmt(o.dataset.out)} out, `
      + `${fmt(o.dataset.cached)} cached · context ${fmt(o.dataset.context)} tokens`
      + (o.dataset.provider === "offline" ? " · offline: local, deterministic replies" : ` · provider ${o.dataset.provider}`);
  }

  function setBalance(value) {
    const b = $("pg-balance");
    b.dataset.value = String(value);
    b.textContent = fmt(value);
  }

  function setMeter(status, inTokens, outTokens, credits, note) {
    $("pg-status").textContent = status;
    if (inTokens != null) $("pg-in").textContent = fmt(inTokens);
    if (outTokens != null) $("pg-out").textContent = fmt(outTokens);
    if (credits != null) $("pg-credits").textContent = fmt(credits);
    $("pg-credits-note").textContent = note || "";
  }

  function addTurn(role, text) {
    $("pg-empty")?.remove();
    const li = document.createElement("li");
    li.className = `pg-turn ${role}`;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = role === "user" ? "You" : "🤖 Assistant";
    const body = document.createElement("div");
    body.className = "text";
    body.textContent = text;
    li.append(who, body);
    $("pg-log").append(li);
    li.scrollIntoView({ block: "end" });
    return li;
  }

  function showError(message, walletLink) {
    const box = $("pg-error");
    box.textContent = message;
    if (walletLink) {
      box.append(" ");
      const a = document.createElement("a");
      a.href = "/billing/wallet";
      a.textContent = "Top up your wallet";
      box.append(a);
    }
    box.hidden = false;
  }

  function busy(on) {
    $("pg-send").hidden = on;
    $("pg-stop").hidden = !on;
    $("pg-input").disabled = on;
    $("pg-model").disabled = on;
  }

  // Parse "event: x\ndata: {...}\n\n" frames out of the text read so far; returns the unread rest.
  function frames(buffer, onEvent) {
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let kind = "message";
      const data = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith("event:")) kind = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trim());
      }
      if (data.length) onEvent(kind, JSON.parse(data.join("\n")));
    }
    return buffer;
  }

  async function send(text) {
    $("pg-error").hidden = true;
    history.push({ role: "user", content: text });
    addTurn("user", text);
    const reply = addTurn("assistant", "");
    const replyText = reply.querySelector(".text");
    const max = parseInt($("pg-max").value, 10);
    const payload = { model: $("pg-model").value, system: $("pg-system").value, messages: history };
    if (max > 0) payload.max_tokens = max;
    setMeter("waiting…", null, 0, 0, "");
    busy(true);
    controller = new AbortController();
    let answered = "";
    let finished = false;
    try {
      const r = await fetch($("playground").dataset.endpoint, {
        method: "POST", credentials: "same-origin", signal: controller.signal,
        headers: { "Content-Type": "application/json", "Accept": "text/event-stream",
                   "X-CSRF-Token": document.body.dataset.csrf },
        body: JSON.stringify(payload),
      });
      if (!r.ok) {
        let body = {};
        try { body = await r.json(); } catch (_) { /* not JSON */ }
        history.pop();  // not sent: take the turn back and give the text back to edit or retry
        reply.remove();
        $("pg-log").lastElementChild?.remove();
        $("pg-input").value = text;
        setMeter(r.status === 402 ? "not enough credits" : "refused", 0, 0, 0, "nothing charged");
        showError(body.detail || `The request failed (${r.status}).`, r.status === 402);
        return;
      }
      const reader = r.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      const onEvent = (kind, data) => {
        if (kind === "start") {
          setMeter("streaming…", data.input_tokens, 0, 0, "≈ estimate while streaming");
        } else if (kind === "delta") {
          answered += data.text;
          replyText.textContent = answered;
          reply.scrollIntoView({ block: "end" });
          setMeter("streaming…", null, data.output_tokens, data.credits_estimate, "≈ estimate while streaming");
        } else if (kind === "done") {
          finished = true;
          setMeter("done", data.input_tokens, data.output_tokens, data.credits, "exact, charged");
          setBalance(data.balance);
          const cost = document.createElement("span");
          cost.className = "cost";
          cost.textContent = `${data.model} · ${fmt(data.input_tokens)} in / ${fmt(data.output_tokens)} out · `
            + `${fmt(data.credits)} credits`;
          if (data.offline) {
            const badge = document.createElement("span");
            badge.className = "badge offline";
            badge.textContent = "offline";
            badge.title = "Answered by the local offline model, not a real LLM";
            reply.querySelector(".who").append(" ", badge);
          }
          reply.dataset.requestId = data.request_id;
          reply.append(cost);
        } else if (kind === "error") {
          finished = true;
          setBalance(data.balance);
          setMeter("stopped", null, null, null, "charged for what arrived");
          reply.classList.add("failed");
          showError(data.detail);
        }
      };
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer = frames(buffer + decoder.decode(value, { stream: true }), onEvent);
      }
      if (answered) history.push({ role: "assistant", content: answered });
      if (!finished) showError("The connection closed before the reply finished.");
    } catch (err) {
      if (answered) history.push({ role: "assistant", content: answered });
      if (err.name === "AbortError") {
        setMeter("stopped", null, null, null, "you stopped it: charged for what arrived");
        refreshBalance();
      } else {
        showError("Could not reach the server. Check your connection and try again.");
      }
    } finally {
      busy(false);
      controller = null;
      $("pg-input").focus();
    }
  }

  async function refreshBalance() {
    // Settlement of a stopped reply finishes on the server a moment later.
    for (const wait of [300, 1000]) {
      await new Promise((done) => setTimeout(done, wait));
      const r = await fetch("/api/v1/billing/credits/wallet", { credentials: "same-origin" }).catch(() => null);
      if (r && r.ok) setBalance((await r.json()).balance);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!$("playground")) return;
    showPrices();
    $("pg-model").addEventListener("change", showPrices);
    $("pg-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const text = $("pg-input").value.trim();
      if (!text || controller) return;
      $("pg-input").value = "";
      send(text);
    });
    $("pg-input").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        $("pg-form").requestSubmit();
      }
    });
    $("pg-stop").addEventListener("click", () => controller?.abort());
    $("pg-clear").addEventListener("click", () => {
      controller?.abort();
      history = [];
      $("pg-log").innerHTML = "";
      $("pg-error").hidden = true;
      setMeter("ready", 0, 0, 0, "");
    });
  });
})();
