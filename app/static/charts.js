// Draws every <canvas data-chart> from the JSON specification its data-source names: labels and series of
// numbers, built by app/admin/charts.py. Chart.js (vendor/chart.umd.min.js) is loaded before this file.
(function () {
  "use strict";

  const COLORS = ["#2563eb", "#16a34a", "#d97706", "#7c3aed", "#dc2626"];

  function dataset(series, index) {
    const color = COLORS[index % COLORS.length];
    return {
      type: series.kind,
      label: series.label,
      data: series.data,
      backgroundColor: color,
      borderColor: color,
      borderDash: series.dashed ? [6, 4] : [],
      borderWidth: series.kind === "line" ? 2 : 0,
      pointRadius: series.kind === "line" && !series.dashed ? 2 : 0,
      order: series.kind === "line" ? 0 : 1, // lines are drawn over bars
    };
  }

  function draw(canvas) {
    const spec = JSON.parse(document.getElementById(canvas.dataset.source).textContent);
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: spec.labels, datasets: spec.series.map(dataset) },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, ticks: { precision: spec.integers ? 0 : undefined } } },
        plugins: { legend: { display: spec.series.length > 1, position: "bottom" } },
      },
    });
  }

  document.querySelectorAll("canvas[data-chart]").forEach(draw);
})();
