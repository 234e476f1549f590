// SLA badges count down in place; the server renders the first value.
(function () {
  function fmt(ms) {
    var sign = ms < 0 ? "overdue " : "in ";
    var s = Math.floor(Math.abs(ms) / 1000), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600),
        m = Math.floor((s % 3600) / 60);
    return d ? sign + d + "d " + h + "h" : sign + h + "h " + String(m).padStart(2, "0") + "m";
  }
  function tick() {
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var ms = new Date(el.dataset.due).getTime() - Date.now();
      el.textContent = fmt(ms);
      el.classList.remove("ok", "warn", "bad");
      el.classList.add(ms <= 0 ? "bad" : ms < 3600000 ? "warn" : "ok");
    });
  }
  tick();
  setInterval(tick, 15000);
})();

// A form that is being sent is not sent again by a second click (the server also stores a
// reply once per form); a page restored by "back" can be used again.
(function () {
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if ((form.getAttribute("method") || "").toLowerCase() !== "post") return;
    // A form that cannot be undone (merge) asks first.
    if (form.dataset.confirm && !form.dataset.sending && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    if (form.dataset.sending) {
      event.preventDefault();
      return;
    }
    form.dataset.sending = "1";
    form.setAttribute("aria-busy", "true");
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sending]").forEach(function (form) {
      delete form.dataset.sending;
      form.removeAttribute("aria-busy");
    });
  });
})();
