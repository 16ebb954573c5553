// Draws the finance dashboard's charts from the numbers the page embeds; the tables hold the same numbers.
(function () {
  "use strict";
  if (typeof window.Chart === "undefined") {
    return;
  }
  var series = JSON.parse(document.getElementById("costing-series").textContent);
  var labels = JSON.parse(document.getElementById("costing-labels").textContent);
  var colours = {
    metered: "#0b5cad",
    local: "#1f7a3a",
    cumulative: "#1d2430",
    projected: "#9a5b00",
    local_route: "#1f7a3a",
    cloud: "#0b5cad",
    extractive: "#6aa84f",
    refused: "#9a5b00"
  };
  var shortDays = series.days.labels.map(function (day) { return day.slice(5); });

  new window.Chart(document.getElementById("chart-cost"), {
    type: "bar",
    data: {
      labels: shortDays,
      datasets: [
        { label: labels.metered, data: series.days.metered, backgroundColor: colours.metered, stack: "cost", yAxisID: "daily" },
        { label: labels.local, data: series.days.local, backgroundColor: colours.local, stack: "cost", yAxisID: "daily" },
        { type: "line", label: labels.cumulative, data: series.days.cumulative, borderColor: colours.cumulative,
          pointRadius: 0, yAxisID: "cumulative" },
        { type: "line", label: labels.projected, data: series.days.projected, borderColor: colours.projected,
          borderDash: [6, 4], pointRadius: 0, yAxisID: "cumulative", spanGaps: true }
      ]
    },
    options: {
      responsive: true,
      interaction: { mode: "index", intersect: false },
      scales: {
        daily: { position: "left", stacked: true, beginAtZero: true },
        cumulative: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } },
        x: { stacked: true }
      }
    }
  });

  var routeColours = { local: colours.local_route, cloud: colours.cloud, extractive: colours.extractive, refused: colours.refused };
  new window.Chart(document.getElementById("chart-questions"), {
    type: "bar",
    data: {
      labels: shortDays,
      datasets: Object.keys(series.days.questions).map(function (route) {
        return { label: labels[route], data: series.days.questions[route], backgroundColor: routeColours[route] };
      })
    },
    options: {
      responsive: true,
      interaction: { mode: "index", intersect: false },
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } }
    }
  });

  new window.Chart(document.getElementById("chart-months"), {
    type: "bar",
    data: {
      labels: series.months.labels,
      datasets: [
        { label: labels.metered, data: series.months.metered, backgroundColor: colours.metered },
        { label: labels.local, data: series.months.local, backgroundColor: colours.local }
      ]
    },
    options: {
      responsive: true,
      interaction: { mode: "index", intersect: false },
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } }
    }
  });
})();
