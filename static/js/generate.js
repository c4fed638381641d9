// The generation form (templates/generation/page.html): each system row shows only the fields its
// provider reads, and "Add a system" reveals the next hidden row. Without this script every field
// shows and the server still reads only the relevant ones.
(function () {
  "use strict";

  function showFieldsFor(row) {
    var kind = row.querySelector(".provider-kind").value;
    row.querySelectorAll("[data-kind]").forEach(function (label) {
      label.hidden = label.dataset.kind.split(" ").indexOf(kind) < 0;
    });
  }

  function setUp(root) {
    var form = root.querySelector ? root.querySelector("form.generate") : null;
    if (!form || form.dataset.ready) return;
    form.dataset.ready = "true";
    form.querySelectorAll(".system-row").forEach(function (row) {
      showFieldsFor(row);
      row.querySelector(".provider-kind").addEventListener("change", function () { showFieldsFor(row); });
    });
    var add = form.querySelector(".add-system");
    add.addEventListener("click", function () {
      var next = form.querySelector(".system-row[hidden]");
      if (next) {
        next.hidden = false;
        next.querySelector("input").focus();
      }
      if (!form.querySelector(".system-row[hidden]")) add.disabled = true;
    });
  }

  document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  document.addEventListener("htmx:load", function (event) { setUp(event.target); });
  setUp(document);
})();
