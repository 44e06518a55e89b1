// Draws the overview charts with uPlot from their data-series attributes.
(function () {
  "use strict";

  /** Draws one chart into the element with `id` and keeps it as wide as the element. */
  function drawChart(id, height, optionsFor, seriesOf) {
    var element = document.getElementById(id);
    if (!element || typeof uPlot === "undefined") return;
    var data = JSON.parse(element.getAttribute("data-series"));
    element.textContent = "";
    var options = optionsFor(data);
    options.width = Math.max(280, element.clientWidth);
    options.height = height;
    var chart = new uPlot(options, seriesOf(data), element);
    var timer = null;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        chart.setSize({
          width: Math.max(280, element.clientWidth),
          height: height,
        });
      }, 150);
    });
  }

  function drawAll() {
    drawChart(
      "overview-chart",
      240,
      function () {
        return {
          series: [
            {},
            {
              label: "Events per minute",
              stroke: "#0969da",
              fill: "rgba(9,105,218,0.12)",
              width: 2,
            },
            {
              label: "Failures",
              stroke: "#cf222e",
              width: 2,
              scale: "failures",
            },
          ],
          axes: [
            {},
            { label: "events/min" },
            {
              side: 1,
              scale: "failures",
              label: "failures",
              grid: { show: false },
            },
          ],
          scales: { x: { time: true } },
        };
      },
      function (data) {
        return [data.t, data.received, data.failed];
      },
    );
    drawChart(
      "contacts-chart",
      220,
      function (data) {
        return {
          series: [
            {},
            { label: "GHL contacts", stroke: "#0969da", width: 2 },
            { label: "On Coopel", stroke: "#1a7f37", width: 2, dash: [6, 4] },
          ],
          axes: [{}, { label: "contacts" }],
          scales: {
            x: {
              time: true,
              range: function () {
                return [data.from, data.to];
              },
            },
          },
        };
      },
      function (data) {
        return [data.t, data.ghl, data.coopel];
      },
    );
  }

  if (document.readyState === "loading")
    document.addEventListener("DOMContentLoaded", drawAll);
  else drawAll();
})();
