// The pages' charts (Chart.js), drawn from the JSON data block each page renders
// (<script type="application/json" id="...">): no inline script, so the CSP can forbid it.
// Loaded deferred after chart.js; each chart is drawn only on the page that has its data.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  if (!window.Chart) return;
  const css = getComputedStyle(document.documentElement);
  const color = (name, fallback = "") => css.getPropertyValue(name).trim() || fallback;
  const data = (id) => {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  };

  // AI usage (hub/usage.html): credits per model (stacked bars) and requests per day.
  const usage = data("usage-data");
  if (usage) {
    const palette = ["#36c", "#e67e22", "#2ecc71", "#9b59b6", "#e74c3c", "#16a085", "#f1c40f", "#7f8c8d"];
    const accent = color("--accent", "#36c");
    new Chart(document.getElementById("credits-chart"), {
      type: "bar",
      data: { labels: usage.labels,
              datasets: usage.credits.map((d, i) => ({ ...d, backgroundColor: palette[i % palette.length] })) },
      options: { maintainAspectRatio: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
    });
    new Chart(document.getElementById("requests-chart"), {
      type: "line",
      data: { labels: usage.labels,
              datasets: [{ label: "Requests", data: usage.requests, borderColor: accent, backgroundColor: accent }] },
      options: { maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
    });
  }

  // A seller's earnings (billing/sales/earnings.html), amounts in minor units.
  const earnings = data("earnings-data");
  if (earnings) {
    const fmt = (minor) => (minor / 100).toFixed(2) + " " + earnings.currency;
    new Chart(document.getElementById("earnings-chart"), {
      type: "bar",
      data: { labels: earnings.labels, datasets: [{ label: "Your share", data: earnings.values,
        backgroundColor: color("--accent", "#36c") }] },
      options: { maintainAspectRatio: false, plugins: { legend: { display: false },
        tooltip: { callbacks: { label: (ctx) => fmt(ctx.parsed.y) } } },
        scales: { y: { beginAtZero: true, ticks: { callback: (v) => fmt(v) } } } },
    });
  }

  // The finance report (billing/reports/report.html); window.financeCharts for the browser tests.
  const d = data("finance-data");
  if (d) {
    const major = (n) => (n / 10 ** d.decimals).toFixed(d.decimals); // display only: the data are integers
    Chart.defaults.color = color("--muted");
    Chart.defaults.borderColor = color("--border");
    const options = { responsive: true, maintainAspectRatio: false, animation: false,
      interaction: { mode: "index", intersect: false },
      scales: { y: { beginAtZero: true, ticks: { callback: (v) => major(v) } } },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${major(c.raw)} ${d.currency}` } } } };
    // A line is drawn over the bars (lower order on top).
    const series = (label, key, c, type) => ({ label, data: d[key], backgroundColor: c, borderColor: c, type,
                                              order: type === "line" ? 0 : 1 });
    window.financeCharts = [
      new Chart(document.getElementById("chart-gmv"), { type: "bar", options, data: { labels: d.labels, datasets: [
        series("GMV", "gmv", color("--accent")), series("Revenue", "revenue", color("--ok"), "line")] } }),
      new Chart(document.getElementById("chart-flows"), { type: "bar", options, data: { labels: d.labels, datasets: [
        series("Fees", "fees", color("--info")), series("Refunds", "refunds", color("--danger")),
        series("Payouts paid", "payouts_paid", color("--warn"))] } }),
    ];
  }

  // The wallet's balance over time (billing/credits/wallet.html).
  const balance = data("balance-series");
  const canvas = document.getElementById("balance-chart");
  if (balance && canvas) {
    const accent = color("--accent"), muted = color("--muted");
    new Chart(canvas, {
      type: "line",
      data: { labels: balance.map((p) => p[0].slice(5)), datasets: [{ label: "Credits", data: balance.map((p) => p[1]),
        borderColor: accent, backgroundColor: accent + "22", fill: true, pointRadius: 0, stepped: true }] },
      options: { maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } },
        scales: { x: { ticks: { color: muted, maxTicksLimit: 6 }, grid: { display: false } },
                  y: { beginAtZero: true, ticks: { color: muted, precision: 0 } } } },
    });
  }

  // An agent's dashboard (agents/dashboard.html): activity, audience and credits per day, credits per kind.
  const agent = data("agent-dashboard-data");
  if (agent) {
    const palette = [color("--accent", "#36c"), color("--ok", "#2ecc71"), color("--warn", "#e67e22"),
                     color("--info", "#9b59b6"), color("--danger", "#e74c3c")];
    const options = { maintainAspectRatio: false, animation: false,
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } };
    const bars = (id, series) => {
      const el = document.getElementById(id);
      if (!el) return;
      new Chart(el, { type: "bar", options, data: { labels: agent.labels, datasets: series.map(([label, key], i) =>
        ({ label, data: agent[key], backgroundColor: palette[i % palette.length] })) } });
    };
    bars("agent-activity-chart", [["Posts", "posts"], ["Replies", "replies"], ["Messages", "messages"]]);
    bars("agent-audience-chart", [["Followers gained", "followers"], ["Reactions", "reactions"]]);
    bars("agent-credits-chart", [["Credits", "credits"], ["Model calls", "calls"]]);
    const kinds = document.getElementById("agent-kinds-chart");
    if (kinds) {
      new Chart(kinds, { type: "doughnut", options: { maintainAspectRatio: false, animation: false },
        data: { labels: agent.kinds, datasets: [{ data: agent.kind_credits, backgroundColor: palette }] } });
    }
  }
});
