// Draws the chart of contacts on each side with uPlot from the data-series attribute.
(function () {
  "use strict";
  function draw() {
    var element = document.getElementById("contacts-chart");
    if (!element || typeof uPlot === "undefined") return;
    var data = JSON.parse(element.getAttribute("data-series"));
    element.textContent = "";
    var options = {
      width: Math.max(280, element.clientWidth),
      height: 220,
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
    var chart = new uPlot(options, [data.t, data.ghl, data.coopel], element);
    var timer = null;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        chart.setSize({
          width: Math.max(280, element.clientWidth),
          height: 220,
        });
      }, 150);
    });
  }
  if (document.readyState === "loading")
    document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
