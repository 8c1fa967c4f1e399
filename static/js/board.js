// The deal board (sales/board.html): drag a card to another column to move the deal there.
// A drop on a won or lost column asks for the close reason first (the dialog); a refused move puts
// the card back and says why. Each card's "Move to" form does the same without JavaScript.
(function () {
  "use strict";

  const HEADER = "X-Board";
  let pending = null; // the drop waiting for the close dialog: {card, from, index, stage}

  function statusRegion() {
    return document.querySelector("[data-board-status]");
  }

  function say(text, isError) {
    const region = statusRegion();
    if (!region) return;
    region.textContent = text || "";
    region.classList.toggle("board-status-error", Boolean(isError));
  }

  function putBack(card, from, index) {
    const cards = Array.from(from.children).filter(function (child) { return child !== card; });
    from.insertBefore(card, cards[index] || null);
  }

  function move(card, from, index, stage, extra) {
    const board = document.getElementById("board");
    if (!board) return;
    const body = new FormData();
    body.append("stage", stage);
    body.append("version", card.dataset.version || "");
    body.append("pipeline", board.dataset.pipeline || "");
    body.append("owner", board.dataset.owner || "");
    body.append("team", board.dataset.team || "");
    Object.keys(extra || {}).forEach(function (key) { body.append(key, extra[key]); });
    const headers = { "X-CSRFToken": board.dataset.csrf || "" };
    headers[HEADER] = "1";
    board.setAttribute("aria-busy", "true");
    fetch(card.dataset.moveUrl, { method: "POST", body: body, headers: headers, credentials: "same-origin" })
      .then(function (response) {
        return response.text().then(function (text) { return { ok: response.ok, text: text }; });
      })
      .then(function (result) {
        board.removeAttribute("aria-busy");
        if (!result.ok) {
          putBack(card, from, index);
          say(result.text, true);
          return;
        }
        say("", false);
        board.outerHTML = result.text;
        init();
      })
      .catch(function () {
        board.removeAttribute("aria-busy");
        putBack(card, from, index);
        const region = statusRegion();
        say(region ? region.dataset.errorText : "", true);
      });
  }

  function openCloseDialog(card, from, index, stage, outcome) {
    const dialog = document.querySelector("[data-close-dialog]");
    if (!dialog) { putBack(card, from, index); return; }
    pending = { card: card, from: from, index: index, stage: stage };
    dialog.querySelectorAll("[data-outcome-text], [data-outcome-field]").forEach(function (element) {
      const wanted = (element.dataset.outcomeText || element.dataset.outcomeField) === outcome;
      element.hidden = !wanted;
      const select = element.querySelector("select");
      if (select) { select.disabled = !wanted; select.value = ""; }
    });
    const note = dialog.querySelector("textarea");
    if (note) note.value = "";
    dialog.showModal();
  }

  function cancelClose() {
    const dialog = document.querySelector("[data-close-dialog]");
    if (dialog && dialog.open) dialog.close();
    if (pending) putBack(pending.card, pending.from, pending.index);
    pending = null;
  }

  function onEnd(event) {
    if (event.from === event.to) return;
    const card = event.item;
    const stage = event.to.dataset.stage;
    const outcome = event.to.dataset.outcome;
    if (outcome === "won" || outcome === "lost") {
      openCloseDialog(card, event.from, event.oldIndex, stage, outcome);
    } else {
      move(card, event.from, event.oldIndex, stage, {});
    }
  }

  function init() {
    const board = document.getElementById("board");
    if (!board || typeof Sortable === "undefined" || board.dataset.canMove !== "true") return;
    board.querySelectorAll("[data-board-cards]").forEach(function (list) {
      Sortable.create(list, {
        group: "deals",
        draggable: "[data-deal]",
        // The card's own controls stay usable: they never start a drag.
        filter: "a, select, button, input, label",
        preventOnFilter: false,
        // Mouse and touch events rather than HTML5 drag and drop: the same in every browser.
        forceFallback: true,
        fallbackTolerance: 3,
        animation: 150,
        onEnd: onEnd,
      });
    });
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.matches("[data-close-form]")) return;
    event.preventDefault();
    if (!pending) return;
    const select = form.querySelector("select:not([disabled])");
    if (!select || !select.value) { if (select) select.reportValidity(); return; }
    const note = form.querySelector("textarea");
    const drop = pending;
    pending = null;
    form.closest("dialog").close();
    move(drop.card, drop.from, drop.index, drop.stage, {
      close_reason: select.value,
      close_note: note ? note.value : "",
    });
  });

  document.addEventListener("click", function (event) {
    if (event.target instanceof Element && event.target.closest("[data-close-cancel]")) {
      event.preventDefault();
      cancelClose();
    }
  });

  document.addEventListener("cancel", function (event) {
    // Escape on the dialog: the card goes back.
    if (event.target instanceof HTMLDialogElement && event.target.matches("[data-close-dialog]")) {
      pending && putBack(pending.card, pending.from, pending.index);
      pending = null;
    }
  }, true);

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
