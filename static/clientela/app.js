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

// -- bulk changes on the contact and organization lists (parties/bulk_bar.html) --------------
// The row checkboxes (data-bulk-row, form="<bar id>") feed the bulk bar's form. The header checkbox
// (data-bulk-page) ticks every row of the page; once the whole page is ticked the bar offers "select
// all N matching the filters" (data-bulk-all). The bar hides while nothing is selected. Without
// JavaScript the bar, the rows and the offer all work as plain form fields.
(function () {
  "use strict";

  function rowsOf(bar) {
    return Array.from(document.querySelectorAll('input[data-bulk-row][form="' + bar.id + '"]'));
  }

  function refresh(bar) {
    const rows = rowsOf(bar);
    const checked = rows.filter(function (row) { return row.checked; }).length;
    const pageBox = document.querySelector("[data-bulk-page]");
    const allBox = bar.querySelector("[data-bulk-all]");
    const offer = bar.querySelector("[data-bulk-all-offer]");
    const status = bar.querySelector("[data-bulk-status]");
    const wholePage = rows.length > 0 && checked === rows.length;
    if (pageBox) {
      pageBox.checked = wholePage;
      pageBox.indeterminate = checked > 0 && !wholePage;
    }
    if (allBox && !wholePage) allBox.checked = false;
    if (offer) offer.classList.toggle("hidden", !wholePage);
    const all = Boolean(allBox && allBox.checked);
    if (status) {
      status.textContent = all
        ? status.dataset.textAll
        : status.dataset.textSome.replace("%(count)s", String(checked));
    }
    bar.classList.toggle("hidden", checked === 0 && !all);
  }

  function refreshAll() {
    document.querySelectorAll("form[data-bulk-bar]").forEach(refresh);
  }

  document.addEventListener("change", function (event) {
    const target = event.target;
    if (!(target instanceof HTMLInputElement)) return;
    if (target.matches("[data-bulk-page]")) {
      document.querySelectorAll("form[data-bulk-bar]").forEach(function (bar) {
        rowsOf(bar).forEach(function (row) { row.checked = target.checked; });
      });
      refreshAll();
    } else if (target.matches("[data-bulk-row], [data-bulk-all]")) {
      refreshAll();
    }
  });

  // On load, and whenever htmx swaps in a new page of results (selections do not carry over).
  document.addEventListener("DOMContentLoaded", refreshAll);
  document.addEventListener("htmx:afterSettle", refreshAll);
  // Pages restored from the back/forward cache keep their ticked boxes: show the bar for them.
  window.addEventListener("pageshow", refreshAll);
})();

// -- global search (header box; parties/views/search.py, parties/search_live.html) ----------
// Ctrl+K / Cmd+K focuses the header's search box from any page; "/" does too on pages without a
// search box of their own (the handler above takes those). The live results are a listbox that
// htmx fills as one types: the box keeps the focus and points at the active option
// (aria-activedescendant); ArrowDown / ArrowUp move through the options, Enter opens the active
// one (or, with none active, submits to the full results page), Escape closes the list.
(function () {
  "use strict";

  const input = document.querySelector("[data-global-search]");
  if (!input) return;
  const listbox = document.getElementById(input.getAttribute("aria-controls"));
  if (!listbox) return;

  const hint = document.querySelector("[data-shortcut-hint]");
  if (hint && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent)) hint.textContent = "⌘ K";

  function options() { return Array.from(listbox.querySelectorAll('[role="option"]')); }
  function isOpen() { return input.getAttribute("aria-expanded") === "true"; }
  function activeOption() {
    const id = input.getAttribute("aria-activedescendant");
    return id ? document.getElementById(id) : null;
  }
  function activate(option) {
    options().forEach(function (item) { item.setAttribute("aria-selected", item === option ? "true" : "false"); });
    if (option) {
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }
  function close() {
    listbox.hidden = true;
    input.setAttribute("aria-expanded", "false");
    activate(null);
  }
  function open() {
    if (!input.value.trim() || !listbox.children.length) { close(); return; }
    listbox.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }
  function move(step) {
    if (!isOpen()) open();
    const list = options();
    if (!isOpen() || !list.length) return;
    const index = list.indexOf(activeOption());
    let next = index === -1 ? (step > 0 ? 0 : list.length - 1) : index + step;
    if (next < 0) next = list.length - 1;
    if (next >= list.length) next = 0;
    activate(list[next]);
  }
  function focusSearch() {
    input.focus();
    input.select();
  }

  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && event.key.toLowerCase() === "k") {
      event.preventDefault();
      focusSearch();
      return;
    }
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (document.querySelector("[data-search]")) return;  // the page's own box, focused above
    const active = document.activeElement;
    if (active && (active.tagName === "INPUT" || active.tagName === "TEXTAREA" || active.tagName === "SELECT" || active.isContentEditable)) return;
    event.preventDefault();
    focusSearch();
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      move(1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      move(-1);
    } else if (event.key === "Enter") {
      const option = isOpen() ? activeOption() : null;
      if (option && option.href) {
        event.preventDefault();
        window.location.assign(option.href);
      }
    } else if (event.key === "Escape") {
      if (isOpen()) {
        event.preventDefault();
        close();
      } else {
        input.blur();
      }
    }
  });

  // New results: nothing active yet; shown while the box has the focus.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target !== listbox) return;
    activate(null);
    if (document.activeElement === input) open(); else close();
  });
  input.addEventListener("focus", open);
  input.addEventListener("input", function () { if (!input.value.trim()) close(); });
  document.addEventListener("click", function (event) {
    if (!(event.target instanceof Node) || !input.form.contains(event.target)) close();
  });
  // A page restored from the back/forward cache shows the list closed.
  window.addEventListener("pageshow", close);
})();
