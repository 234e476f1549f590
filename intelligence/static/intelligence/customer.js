(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("intel-customer").textContent);
  if (typeof Chart === "undefined") { return; }
  var points = data.orders.map(function (o) { return { x: o.date, y: o.value }; });
  var datasets = [{ label: "orders (net value)", data: points, showLine: false, pointRadius: 4 }];
  if (data.expected_next_order) {
    var top = points.reduce(function (m, p) { return Math.max(m, p.y); }, 0);
    datasets.push({ label: "expected next order", data: [{ x: data.expected_next_order, y: top }],
      pointStyle: "triangle", pointRadius: 9, showLine: false });
  }
  var labels = points.map(function (p) { return p.x; });
  if (data.expected_next_order) { labels.push(data.expected_next_order); }
  new Chart(document.getElementById("chart-timeline"), {
    type: "line",
    data: { labels: labels.sort(), datasets: datasets },
    options: { parsing: { xAxisKey: "x", yAxisKey: "y" } }
  });
})();
