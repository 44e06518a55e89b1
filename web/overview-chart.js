// Draws the overview chart with uPlot from the data-series attribute.
(function () {
  "use strict";
  function draw() {
    var element = document.getElementById("overview-chart");
    if (!element || typeof uPlot === "undefined") return;
    var data = JSON.parse(element.getAttribute("data-series"));
    element.textContent = "";
    var width = Math.max(280, element.clientWidth);
    var options = {
      width: width,
      height: 240,
      series: [
        {},
        {
          label: "Events per minute",
          stroke: "#0969da",
          fill: "rgba(9,105,218,0.12)",
          width: 2,
        },
        { label: "Failures", stroke: "#cf222e", width: 2, scale: "failures" },
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
    var chart = new uPlot(
      options,
      [data.t, data.received, data.failed],
      element,
    );
    var timer = null;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        chart.setSize({
          width: Math.max(280, element.clientWidth),
          height: 240,
        });
      }, 150);
    });
  }
  if (document.readyState === "loading")
    document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
