/* Small progressive enhancements; every page works without them (CSP: same-origin only). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // A form posts once: its submit buttons go busy until the next page (or htmx swap) arrives.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post") return;
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) {
        b.setAttribute("aria-busy", "true");
      });
    }, 0);
  });

  // Results being reloaded by htmx are dimmed until the new ones arrive.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = document.getElementById("order-results");
    if (target && event.detail.target === target) target.classList.add("is-loading");
  });
  document.addEventListener("htmx:afterSettle", function () {
    var target = document.getElementById("order-results");
    if (target) target.classList.remove("is-loading");
  });

  // After htmx pushed a filtered URL, switching language must come back to that URL.
  document.addEventListener("htmx:pushedIntoHistory", function () {
    document.querySelectorAll(".lang-switch input[name=next]").forEach(function (input) {
      input.value = window.location.pathname + window.location.search;
    });
  });
})();
