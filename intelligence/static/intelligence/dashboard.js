(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("intel-charts").textContent);
  if (typeof Chart === "undefined") { return; }
  function bar(id, labels, values, label) {
    new Chart(document.getElementById(id), {
      type: "bar",
      data: { labels: labels, datasets: [{ label: label, data: values }] },
      options: { plugins: { legend: { display: false } } }
    });
  }
  bar("chart-archetypes", data.archetypes.labels, data.archetypes.sizes, "customers");
  bar("chart-churn", data.distributions.churn.labels, data.distributions.churn.counts, "customers");
  bar("chart-ltv", data.distributions.ltv.labels, data.distributions.ltv.counts, "customers");
  var labels = data.versions.map(function (v) { return v.label; });
  var metric = function (name) { return data.versions.map(function (v) { return v[name]; }); };
  new Chart(document.getElementById("chart-metrics"), {
    type: "line",
    data: {
      labels: labels,
      datasets: [
        { label: "churn ROC AUC", data: metric("roc_auc") },
        { label: "churn PR AUC", data: metric("pr_auc") },
        { label: "spend Spearman", data: metric("spearman") },
        { label: "top-decile capture", data: metric("top_decile_capture") }
      ]
    },
    options: { scales: { y: { min: 0, max: 1 } } }
  });
})();
