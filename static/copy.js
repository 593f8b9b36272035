// Copy buttons (the console's set-up links): a <button type="button"
// data-copy="ID" hidden> copies the value (or text) of the element #ID.
// Without JavaScript, or without the Clipboard API, the button stays hidden
// and the text is there to select. `data-status` names an element (a
// `role="status"` region) that says `data-copied` once it worked.
(function () {
  "use strict";
  if (!navigator.clipboard) return;
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target) return;
    var status = document.getElementById(button.getAttribute("data-status") || "");
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = "value" in target ? target.value : target.textContent;
      navigator.clipboard.writeText(text).then(function () {
        if (status) status.textContent = button.getAttribute("data-copied") || "";
      }, function () {
        if (target.select) { target.focus(); target.select(); }
      });
    });
  });
})();
