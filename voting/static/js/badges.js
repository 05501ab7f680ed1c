/* The QR page (templates/badges/qr.html): a Print button, shown only when scripts run. */
(function () {
  "use strict";
  var button = document.getElementById("print-qr");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
})();
