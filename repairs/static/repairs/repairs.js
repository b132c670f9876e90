/* 三包 pages: deadline countdowns keep ticking. The server renders the text (the sandbox clock may
   be ahead of the browser's), so we only move it on by the time elapsed since the page loaded. */
(function () {
  "use strict";
  var loaded = Date.now();

  function render(el) {
    var due = Date.parse(el.getAttribute("data-due"));
    var now = Date.parse(el.getAttribute("data-now")) + (Date.now() - loaded);
    if (isNaN(due) || isNaN(now)) return;
    var left = due - now;
    var over = left < 0;
    var minutes = Math.floor(Math.abs(left) / 60000);
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    var d = el.getAttribute("data-unit-d"), h = el.getAttribute("data-unit-h"), m = el.getAttribute("data-unit-m");
    var parts = days ? days + d + " " + hours + h : hours ? hours + h + " " + mins + m : mins + m;
    el.textContent = (over ? el.getAttribute("data-over") : el.getAttribute("data-left")) + " " + parts;
    el.classList.toggle("countdown-overdue", over);
    el.classList.toggle("countdown-soon", !over && left < 3 * 86400000);
    var row = el.closest("tr");
    if (row && over) row.classList.add("is-overdue");
  }

  function tick() {
    document.querySelectorAll(".countdown[data-due]").forEach(render);
  }

  document.addEventListener("DOMContentLoaded", function () {
    window.setInterval(tick, 30000);
  });
  document.addEventListener("htmx:afterSettle", tick);
})();
