// Strata console: confirmation and repair of exceptions without a page reload, and following a
// reconciliation run until it completes.
// Every call carries the session's CSRF token (X-CSRF-Token) and a fresh Idempotency-Key.
"use strict";
// A reconciliation run the page shows as running: reload the page once it is not.
(function () {
  const running = document.querySelector("[data-follow-run]");
  if (!running) return;
  const id = running.dataset.followRun;
  const until = Date.now() + 300000;
  async function poll() {
    if (Date.now() > until) return;
    const response = await fetch("/console/api/reconciliation/runs/" + encodeURIComponent(id), {
      headers: { Accept: "application/json" }, credentials: "same-origin",
    });
    if (response.status === 401) { window.location.reload(); return; }
    const body = await response.json();
    if (!response.ok) { running.textContent = "Could not follow the run: " + body.problem; return; }
    if (body.run.status !== "running") { window.location.reload(); return; }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
})();
(function () {
  const main = document.getElementById("main");
  const dialog = document.getElementById("confirm");
  if (!main || !dialog) return;
  const csrf = main.dataset.csrf || "";
  const SETTLED = ["completed", "needs_attention", "failed", "held", "compensated", "dismissed"];
  const LOOK = {
    completed: ["✓", "ok"], needs_attention: ["⚠", "warn"], failed: ["✗", "bad"],
    held: ["⏸", "warn"], compensated: ["↺", "muted"], dismissed: ["–", "muted"],
  };
  const WORDS = {
    replay: ["Replay", "Run it again from the failed step. Steps already done keep their results."],
    compensate: ["Compensate", "Undo what it did in every system, newest first. This cannot be undone."],
    dismiss: ["Dismiss", "Close this exception without changing anything in any system."],
  };
  const form = document.getElementById("confirm-form");
  const text = document.getElementById("confirm-text");
  const title = document.getElementById("confirm-title");
  const reasonRow = document.getElementById("confirm-reason-row");
  const reason = document.getElementById("confirm-reason");
  const inputRow = document.getElementById("confirm-input-row");
  const input = document.getElementById("confirm-input");
  const error = document.getElementById("confirm-error");
  const ok = document.getElementById("confirm-ok");
  let pending = null;

  function key() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function badge(state) {
    const look = LOOK[state] || ["●", "info"];
    const span = document.createElement("span");
    span.className = "badge badge-" + look[1];
    span.dataset.state = state;
    const mark = document.createElement("span");
    mark.setAttribute("aria-hidden", "true");
    mark.textContent = look[0];
    span.append(mark, " " + state.replace(/_/g, " "));
    return span;
  }

  function showState(id, state) {
    const cell = document.querySelector("#row-" + CSS.escape(id) + " .state") || document.getElementById("state");
    if (cell) cell.replaceChildren(badge(state));
  }

  function report(box, message, tone) {
    const out = box.querySelector(".result");
    out.textContent = message;
    out.className = "result " + (tone || "");
  }

  async function follow(box, id) {
    const until = Date.now() + 120000;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 800));
      const response = await fetch("/console/api/transactions/" + encodeURIComponent(id), {
        headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      if (response.status === 401) { window.location.reload(); return; }
      const body = await response.json();
      if (!response.ok) { report(box, "Could not follow it: " + body.problem, "bad"); return; }
      const t = body.transaction;
      showState(id, t.state);
      if (SETTLED.includes(t.state)) {
        const done = t.state === "completed" || t.state === "compensated" || t.state === "dismissed";
        const why = t.exception ? " (" + t.exception.reason_code + ")" : "";
        report(box, (done ? "✓ " : "✗ ") + t.state.replace(/_/g, " ") + why, done ? "ok" : "bad");
        box.querySelectorAll("button").forEach((b) => { b.disabled = done; });
        return;
      }
      report(box, "… " + t.state.replace(/_/g, " "), "");
    }
    report(box, "Still running; reload later to see how it ended.", "");
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button.act");
    if (!button) return;
    const box = button.closest(".repairs");
    const action = button.dataset.action;
    pending = { box, action, id: box.dataset.transaction, key: key(), opener: button };
    title.textContent = WORDS[action][0] + " " + pending.id + "?";
    text.textContent = WORDS[action][1];
    reasonRow.hidden = action === "replay";
    inputRow.hidden = action !== "replay";
    reason.value = "";
    input.value = "";
    error.textContent = "";
    ok.textContent = WORDS[action][0];
    dialog.showModal();
    (action === "replay" ? ok : reason).focus();
  });

  document.getElementById("confirm-cancel").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => { if (pending && pending.opener) pending.opener.focus(); });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!pending) return;
    const body = {};
    if (pending.action !== "replay") {
      if (!reason.value.trim()) { error.textContent = "Say why (the reason is kept in the lineage)."; reason.focus(); return; }
      body.reason = reason.value.trim();
    } else if (input.value.trim()) {
      try { body.input = JSON.parse(input.value); } catch (e) { error.textContent = "The corrected input is not JSON: " + e.message; input.focus(); return; }
    }
    ok.disabled = true;
    try {
      const response = await fetch("/console/api/exceptions/" + encodeURIComponent(pending.id) + "/" + pending.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf, "Idempotency-Key": pending.key },
        body: JSON.stringify(body),
      });
      if (response.status === 401) { window.location.reload(); return; }
      const answer = await response.json();
      if (!response.ok) { error.textContent = answer.problem || ("Refused (HTTP " + response.status + ")"); return; }
      const { box, id, action } = pending;
      dialog.close();
      box.querySelectorAll("button").forEach((b) => { b.disabled = true; });
      showState(id, answer.transaction.state);
      report(box, "… " + (action === "replay" ? "replaying" : action === "compensate" ? "compensating" : "dismissing"), "");
      follow(box, id);
    } finally {
      ok.disabled = false;
    }
  });
})();
