// rq-dlq dashboard: live counters, "select all", and one submit per form. No framework, no inline
// script (the Content-Security-Policy forbids it); every value goes in with textContent, never HTML.
"use strict";

(function () {
  const body = document.body;
  const statsUrl = body.dataset.statsUrl;
  const every = Number(body.dataset.refreshSeconds || 0);
  const status = document.getElementById("refresh-status");

  function setText(selector, value) {
    document.querySelectorAll(selector).forEach(function (node) {
      node.textContent = value;
    });
  }

  async function refresh() {
    try {
      const response = await fetch(statsUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const stats = await response.json();
      Object.entries(stats.display || {}).forEach(function ([name, value]) {
        setText('[data-stat="' + name + '"]', value);
      });
      const groups = stats.by_group || {};
      document.querySelectorAll("[data-group-count]").forEach(function (node) {
        const count = groups[node.dataset.groupCount] || 0;
        node.textContent = count.toLocaleString("en-US");
      });
      if (status) status.textContent = "updated " + new Date().toLocaleTimeString();
      if (status) status.classList.remove("stale");
    } catch (error) {
      if (status) status.textContent = "refresh failed (" + error.message + "); retrying";
      if (status) status.classList.add("stale");
    }
  }

  if (statsUrl) {
    refresh();
    if (every > 0) window.setInterval(refresh, every * 1000);
  }

  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll('input[name="ids"][type="checkbox"]').forEach(function (box) {
        box.checked = all.checked;
      });
    });
  }

  // A bulk run's page: poll its progress until it ends, then reload once for the final page.
  const bulk = document.getElementById("bulk");
  if (bulk && bulk.dataset.state === "running") {
    const bar = document.getElementById("bulk-bar");
    const poll = async function () {
      try {
        const response = await fetch(bulk.dataset.progressUrl, {
          headers: { Accept: "application/json" }, credentials: "same-origin",
        });
        if (!response.ok) throw new Error("HTTP " + response.status);
        const run = await response.json();
        bar.max = Math.max(run.selected, 1);
        bar.value = run.processed;
        bulk.querySelectorAll("[data-bulk]").forEach(function (node) {
          const value = run[node.dataset.bulk];
          node.textContent = typeof value === "number" ? value.toLocaleString("en-US") : String(value);
        });
        bulk.querySelector('[data-bulk="percent"]').textContent = run.percent + " %";
        if (run.state !== "running") {
          window.location.reload();
          return;
        }
      } catch (error) {
        document.getElementById("bulk-state").textContent = "progress unavailable (" + error.message + "); retrying";
      }
      window.setTimeout(poll, 500);
    };
    window.setTimeout(poll, 500);
  }

  // A second click while the first submit is on its way does nothing (the server also runs a
  // confirmed action once only).
  document.querySelectorAll('form[method="post"]').forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.submitted) {
        event.preventDefault();
        return;
      }
      form.dataset.submitted = "yes";
    });
  });
})();
