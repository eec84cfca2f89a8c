// Small client-side helpers; the pages are server-rendered with HTMX.
(function () {
  const saved = localStorage.getItem("smile-theme");
  if (saved) document.documentElement.dataset.theme = saved;
})();
function smileToggleTheme() {
  const root = document.documentElement;
  const dark = root.dataset.theme ? root.dataset.theme === "dark"
    : window.matchMedia("(prefers-color-scheme: dark)").matches;
  root.dataset.theme = dark ? "light" : "dark";
  localStorage.setItem("smile-theme", root.dataset.theme);
}
