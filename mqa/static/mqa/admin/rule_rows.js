// The rule editor's "Add …" buttons: copy the list's blank row (the formset's empty form in
// <template id="empty-<prefix>">), number it like the rows before it, count it in the
// formset's TOTAL_FORMS and move the focus to its first field. Plain DOM, no dependencies.
(function () {
  "use strict";

  function addRow(button) {
    var prefix = button.getAttribute("data-prefix");
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var template = document.getElementById("empty-" + prefix);
    var table = document.getElementById("rules-" + prefix);
    if (!total || !template || !table) return;
    var index = parseInt(total.value, 10);
    // A row holding rows of its own (a queue's members) names its placeholders on the button
    // (data-slot, data-row-slot), so the blank rows inside keep __prefix__ and __row__.
    var slot = button.getAttribute("data-slot") || "__prefix__";
    var rowSlot = button.getAttribute("data-row-slot") || "__row__";
    var html = template.innerHTML
      .split(slot).join(String(index))
      .split(rowSlot).join(String(index + 1));
    var body = table.tBodies[0];
    body.insertAdjacentHTML("beforeend", html);
    var row = body.rows[body.rows.length - 1];
    row.id = prefix + "-" + index;
    total.value = String(index + 1);
    var first = row.querySelector("input:not([type=hidden]), select, textarea");
    if (first) first.focus();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button.mqa-add-row") : null;
    if (button) {
      event.preventDefault();
      addRow(button);
    }
  });
})();
