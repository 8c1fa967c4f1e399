// Clientela's small progressive enhancements. No inline handlers: the CSP forbids them.
(function () {
  "use strict";

  // <select data-autosubmit> submits its form when changed (the language picker, page sizes).
  document.addEventListener("change", function (event) {
    const target = event.target;
    if (target instanceof HTMLElement && target.matches("[data-autosubmit]") && target.form) {
      target.form.requestSubmit();
    }
  });

  // <button data-add-row="template-id" data-target="container-id"> copies a <template> row
  // into a formset, numbering it like Django's formsets expect (__prefix__ → next index).
  document.addEventListener("click", function (event) {
    const button = event.target instanceof Element ? event.target.closest("[data-add-row]") : null;
    if (!button) return;
    event.preventDefault();
    const template = document.getElementById(button.dataset.addRow);
    const container = document.getElementById(button.dataset.target);
    const total = document.getElementById(button.dataset.totalForms);
    if (!template || !container || !total) return;
    const index = parseInt(total.value, 10);
    const html = template.innerHTML.replace(/__prefix__/g, String(index));
    container.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
  });

  // "/" focuses the page's search box, as in most web apps.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    const active = document.activeElement;
    if (active && (active.tagName === "INPUT" || active.tagName === "TEXTAREA" || active.tagName === "SELECT" || active.isContentEditable)) return;
    const search = document.querySelector("[data-search]");
    if (search) { event.preventDefault(); search.focus(); }
  });
})();
