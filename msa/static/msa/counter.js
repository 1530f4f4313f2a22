// Case forms: a counter under every limited text field ("120 of 2000 characters"), kept up to
// date as the officer types; the field's maxlength stops the typing at the limit.
(function () {
  "use strict";
  document.querySelectorAll("[data-counter-for]").forEach(function (counter) {
    var field = document.getElementById(counter.dataset.counterFor);
    if (!field) return;
    var max = counter.dataset.max;
    function update() {
      counter.textContent = field.value.length + " / " + max;
    }
    field.addEventListener("input", update);
    update();
  });
})();
