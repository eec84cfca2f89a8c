// Small client-side helpers; the pages are server-rendered with HTMX.
// The Content-Security-Policy allows no inline script, so pages ask for behaviour with data
// attributes and these delegated listeners do it (they also cover HTML that HTMX swaps in):
//   <button data-theme-toggle>                 switch light/dark
//   <form data-confirm="Delete this?">         ask before submitting
//   <button data-show-modal="dialog-id">       open a <dialog> as a modal
//   <button data-close-dialog>                 close the <dialog> around it
//   <a data-open-details="details-id">         open a <details>
//   <input data-select-on-focus>               select its text on focus
//   <button data-copy="input-id">              copy that input's value, then say "Copied"
//   <form hx-post data-reset-on-success="sel"> after a successful HTMX request: reset the form
//                                              and remove the elements matching sel (optional)
(function () {
  "use strict";
  const saved = localStorage.getItem("smile-theme");
  if (saved) document.documentElement.dataset.theme = saved;

  function toggleTheme() {
    const root = document.documentElement;
    const dark = root.dataset.theme ? root.dataset.theme === "dark"
      : window.matchMedia("(prefers-color-scheme: dark)").matches;
    root.dataset.theme = dark ? "light" : "dark";
    localStorage.setItem("smile-theme", root.dataset.theme);
  }

  function copy(button) {
    const input = document.getElementById(button.dataset.copy);
    if (!input) return;
    const done = () => { button.textContent = "Copied"; };
    const fallback = () => { input.select(); document.execCommand("copy"); done(); };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(input.value).then(done, fallback);
    else fallback();
  }

  document.addEventListener("click", (e) => {
    const el = e.target.closest("[data-theme-toggle], [data-show-modal], [data-close-dialog], [data-open-details], [data-copy]");
    if (!el) return;
    if (el.hasAttribute("data-theme-toggle")) toggleTheme();
    else if (el.dataset.showModal) document.getElementById(el.dataset.showModal)?.showModal();
    else if (el.hasAttribute("data-close-dialog")) el.closest("dialog")?.close();
    else if (el.dataset.openDetails) { const d = document.getElementById(el.dataset.openDetails); if (d) d.open = true; }
    else if (el.dataset.copy) copy(el);
  });

  document.addEventListener("submit", (e) => {
    const form = e.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      e.preventDefault();
      e.stopImmediatePropagation(); // HTMX listens on the form itself: it must not send it either
    }
  }, true);

  document.addEventListener("focusin", (e) => {
    if (e.target.matches && e.target.matches("[data-select-on-focus]")) e.target.select();
  });

  document.addEventListener("htmx:afterRequest", (e) => {
    const form = e.detail.elt;
    if (!e.detail.successful || !form.matches || !form.matches("form[data-reset-on-success]")) return;
    form.reset();
    const gone = form.dataset.resetOnSuccess;
    if (gone) document.querySelectorAll(gone).forEach((el) => el.remove());
  });
})();
