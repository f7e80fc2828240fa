// SettleGuard page: refresh the OLED mirror and ask before dangerous forms. No inline script.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var oled = document.getElementById("oled");
  if (oled) {
    var base = oled.getAttribute("src");
    setInterval(function () { oled.src = base + "?t=" + Date.now(); }, 2000);
  }
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
});
