// Keyboard shortcuts for the review queue. The common path is one key per candidate:
// "a" accepts the focused candidate and focus moves on to the next pending one.
// Every action is also a plain button, link or form: this file only adds keys.
(function () {
  "use strict";

  function rows() {
    return Array.from(document.querySelectorAll("tr.cand-row[data-pending='1']"));
  }

  function current() {
    var active = document.activeElement;
    return active && active.closest ? active.closest("tr.cand-row") : null;
  }

  function focusRow(row) {
    if (!row) return;
    row.focus();
    row.scrollIntoView({ block: "nearest" });
    // Light up this candidate's evidence in the document text beside it.
    document.querySelectorAll(".review-text mark.current").forEach(function (m) {
      m.classList.remove("current");
    });
    document.querySelectorAll(".review-text mark[data-candidates]").forEach(function (m) {
      if (m.dataset.candidates.split(" ").indexOf(row.dataset.id) >= 0) m.classList.add("current");
    });
    var anchor = document.getElementById("span-c" + row.dataset.id);
    if (anchor) anchor.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var list = rows();
    if (!list.length) return;
    var at = list.indexOf(current());
    focusRow(list[Math.min(Math.max(at + step, 0), list.length - 1)] || list[0]);
  }

  function typing(event) {
    var t = event.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }

  // After htmx swaps a decided row in, go on to the next pending candidate.
  var nextAfterSwap = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var row = event.target.closest && event.target.closest("tr.cand-row");
    if (!row) return;
    var list = rows();
    var at = list.indexOf(row);
    nextAfterSwap = at >= 0 ? list[at + 1] || list[at - 1] || null : null;
    nextAfterSwap = nextAfterSwap ? nextAfterSwap.id : null;
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var refused = event.detail.xhr && event.detail.xhr.status >= 400;
    if (refused) {
      // The row is back with the reason it could not be decided: stay on it.
      focusRow(document.getElementById(event.detail.target.id));
    } else if (nextAfterSwap) {
      focusRow(document.getElementById(nextAfterSwap));
    }
    nextAfterSwap = null;
  });

  // Tests (and curious curators) can tell the shortcuts are live.
  document.documentElement.dataset.reviewKeys = "on";

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (typing(event)) {
      if (event.key === "Escape") focusRow(current());
      return;
    }
    var row = current();
    switch (event.key) {
      case "j":
        move(1);
        break;
      case "k":
        move(-1);
        break;
      case "a":
        if (row) row.querySelector(".act-accept").click();
        break;
      case "r":
        if (row) row.querySelector(".act-reason").focus();
        break;
      case "e":
        if (row) row.querySelector(".act-edit").click();
        break;
      case "l":
        if (row) row.querySelector(".act-link").click();
        break;
      case "x":
        if (row) {
          var box = row.querySelector("input[type=checkbox]");
          if (box) box.checked = !box.checked;
        }
        break;
      case "u":
        document.getElementById("undo-form").requestSubmit();
        break;
      default:
        return;
    }
    event.preventDefault();
  });
})();
