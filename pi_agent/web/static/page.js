// SettleGuard page: refresh the OLED mirror, follow a push test, ask before dangerous forms.
// No inline script.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var oled = document.getElementById("oled");
  if (oled) {
    var base = oled.getAttribute("src");
    setInterval(function () { oled.src = base + "?t=" + Date.now(); }, 2000);
  }
  // A push test answers at once; its outcome is asked for until it is decided.
  var result = document.querySelector("[data-poll]");
  if (result) {
    var url = result.getAttribute("data-poll");
    var poll = setInterval(function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (state) {
          result.textContent = state.text;
          if (state.done) {
            clearInterval(poll);
            result.className = "flash " + (state.ok ? "ok" : "error");
          }
        })
        .catch(function () { clearInterval(poll); });
    }, 700);
  }
  // First run: the time zone the browser is in, where the page asks for its default.
  document.querySelectorAll("input[data-browser-tz]").forEach(function (input) {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) { input.value = zone; }
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
});
