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

  // A copy button (data-copy: the text) puts its text on the clipboard and says so briefly.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-copy]") : null;
    if (!button || !navigator.clipboard) return;
    navigator.clipboard.writeText(button.dataset.copy).then(function () {
      var label = button.textContent;
      button.textContent = button.dataset.copied || label;
      button.setAttribute("data-copied-state", "true");
      window.setTimeout(function () { button.textContent = label; }, 2000);
    });
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

  // Deadline countdowns (components/_countdown.html) tick on from the seconds left when the
  // server rendered them (negative once overdue), so a moved sandbox clock is respected; the
  // formats come translated in data-fmt-*. A paused countdown has no data-countdown.
  function fill(format, values) {
    return (format || "").replace(/%\((\w)\)s/g, function (_, key) { return values[key]; });
  }
  function amount(el, seconds) {
    var d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    return d > 0 ? fill(el.dataset.fmtDays, { d: d, h: h })
      : h > 0 ? fill(el.dataset.fmtHours, { h: h, m: m })
      : fill(el.dataset.fmtMinutes, { m: Math.max(1, m) });
  }
  function tickCountdowns() {
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      if (!el.dataset.countdownAt) el.dataset.countdownAt = String(now);
      var left = Number(el.dataset.countdown) - (now - Number(el.dataset.countdownAt)) / 1000;
      var over = left <= 0;
      var text = fill(over ? el.dataset.fmtOver : el.dataset.fmtLeft, { t: amount(el, Math.abs(left)) });
      if (text && el.textContent !== text) el.textContent = text;
      var box = el.closest(".countdown");
      if (box) {
        box.classList.toggle("is-overdue", over);
        box.classList.toggle("is-urgent", !over && left <= Number(el.dataset.urgent || 86400));
      }
      var row = el.closest("tr");
      if (row && over) row.classList.add("is-overdue");
    });
  }
  if (document.querySelector("time[data-countdown]")) window.setInterval(tickCountdowns, 30000);
  document.addEventListener("htmx:afterSettle", tickCountdowns);

  // Upload previews (components/_upload_input.html): a thumbnail for each image chosen, a chip
  // with the kind for a video or a document, before anything is sent. data: URLs only (CSP).
  function uploadPreview(input) {
    var box = input.closest("[data-upload-box]");
    var list = box && box.querySelector("[data-upload-previews]");
    if (!list) return;
    list.textContent = "";
    Array.prototype.forEach.call(input.files || [], function (file) {
      var item = document.createElement("li");
      item.className = "upload-item";
      item.setAttribute("data-testid", "upload-preview");
      var name = document.createElement("span");
      name.className = "upload-name";
      name.textContent = file.name;
      if (/^image\/(jpeg|png|webp)$/.test(file.type) && file.size <= 10 * 1024 * 1024) {
        var img = document.createElement("img");
        img.className = "upload-thumb";
        img.alt = "";
        img.width = 64;
        img.height = 64;
        var reader = new FileReader();
        reader.onload = function () { img.src = reader.result; };
        reader.readAsDataURL(file);
        item.classList.add("upload-item-image");
        item.appendChild(img);
      } else {
        var chip = document.createElement("span");
        chip.className = "upload-chip";
        var kind = /^video\//.test(file.type) ? "video" : file.type === "application/pdf" ? "pdf" : "file";
        chip.textContent = box.dataset["label" + kind.charAt(0).toUpperCase() + kind.slice(1)] || kind;
        item.classList.add("upload-item-" + kind);
        item.appendChild(chip);
      }
      item.appendChild(name);
      list.appendChild(item);
    });
  }
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input instanceof HTMLInputElement && input.type === "file" && input.hasAttribute("data-upload")) {
      uploadPreview(input);
    }
  });
})();
