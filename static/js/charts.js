// Charts of the sales reports (sales/reports.html). Each <canvas data-chart="NAME"> draws chart NAME
// of the JSON in the data-charts attribute of #report-charts, which the server writes (an attribute,
// not a <script type="application/json"> block: htmx leaves script elements out of what it swaps in):
// {"NAME": {"type": "bar", "horizontal": false, "labels": [...], "datasets": [{"label", "data", "type"?}]}}.
// Numbers arrive as text (exact decimals); a chart only needs them approximately. The tables under the
// charts hold the same figures for screen readers and without JavaScript. Charts are drawn when the
// page loads and again when htmx swaps in the report of new filters.
(function () {
  "use strict";

  const drawn = [];

  function number(value) {
    return value === null || value === undefined ? null : Number(value);
  }

  function draw() {
    while (drawn.length) drawn.pop().destroy();
    const source = document.getElementById("report-charts");
    if (!source || typeof window.Chart === "undefined") return;
    const specs = JSON.parse(source.dataset.charts || "{}");
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      const spec = specs[canvas.dataset.chart];
      if (!spec) return;
      drawn.push(new window.Chart(canvas, {
        type: spec.type,
        data: {
          labels: spec.labels,
          datasets: spec.datasets.map(function (dataset) {
            const shown = { label: dataset.label, data: dataset.data.map(number) };
            if (dataset.type) shown.type = dataset.type;
            return shown;
          }),
        },
        options: {
          indexAxis: spec.horizontal ? "y" : "x",
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { display: spec.datasets.length > 1 } },
        },
      }));
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
  // htmx:load fires on content htmx puts in the page (an outerHTML swap replaces the element that
  // htmx:afterSettle would be dispatched on, detached from the document by then).
  document.addEventListener("htmx:load", function (event) {
    const element = event.target;
    if (element instanceof Element && element.querySelector("canvas[data-chart]")) draw();
  });
})();
