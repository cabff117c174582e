// Flowkeeper admin: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // Ask before destructive actions: <form data-confirm="Discard these writes?">
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Toggles submit their form as soon as they change: <input data-autosubmit>
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.hasAttribute && input.hasAttribute("data-autosubmit") && input.form) {
      input.form.requestSubmit ? input.form.requestSubmit() : input.form.submit();
    }
  });

  // A page with an #live-refresh checkbox reloads itself every data-seconds while it is ticked.
  var live = document.getElementById("live-refresh");
  if (live) {
    var seconds = parseInt(live.getAttribute("data-seconds") || "10", 10);
    live.checked = window.sessionStorage.getItem("fk-live") === "1";
    live.addEventListener("change", function () {
      window.sessionStorage.setItem("fk-live", live.checked ? "1" : "0");
    });
    window.setInterval(function () {
      if (live.checked && document.visibilityState === "visible") {
        window.location.reload();
      }
    }, seconds * 1000);
  }

  // Click a webhook URL to copy it.
  document.querySelectorAll("code.copy").forEach(function (code) {
    code.setAttribute("title", "Click to copy");
    code.addEventListener("click", function () {
      if (navigator.clipboard) {
        navigator.clipboard.writeText(code.textContent.trim()).then(function () {
          code.classList.add("copied");
        }, function () { /* clipboard refused: the text stays selectable */ });
      }
    });
  });
})();
