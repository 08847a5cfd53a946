// Evidence in a document's text: the span a #span-<start>-<end> link targets is marked over
// its whole length, scrolled into view and announced; clicking it lists the facts it
// supports. The server cuts the text at every span boundary and each piece names the spans
// covering it (data-spans), so one span is exactly the pieces naming it, however spans nest,
// overlap or touch. Without this file the link still scrolls to the span's start.
(function () {
  "use strict";

  var text = document.querySelector(".doc-text[data-evidence]");
  if (!text) return;
  var main = text.parentElement;
  var status = document.getElementById("evidence-status");
  var toggle = document.getElementById("show-all-evidence");
  var factItems = Array.prototype.slice.call(document.querySelectorAll(".doc-facts li[data-span]"));
  var pieces = Array.prototype.slice.call(text.querySelectorAll(".ev"));
  var current = null; // the targeted span's key, "<start>-<end>"
  var panel = null;
  text.classList.add("js-evidence");

  function spansOf(piece) {
    return piece.getAttribute("data-spans").split(" ");
  }

  function piecesOf(key) {
    return pieces.filter(function (p) { return spansOf(p).indexOf(key) >= 0; });
  }

  function factsOf(key) {
    return factItems.filter(function (li) { return li.getAttribute("data-span") === key; });
  }

  function keyFromHash() {
    var match = /^#span-(\d+-\d+)$/.exec(window.location.hash);
    return match ? match[1] : null;
  }

  function plural(n, word) {
    return n + " " + word + (n === 1 ? "" : "s");
  }

  function shorten(s, max) {
    s = s.replace(/\s+/g, " ").trim();
    return s.length > max ? s.slice(0, max - 1) + "…" : s;
  }

  // Centres the span if it fits in the window, else puts its start just below the top.
  // A span picked by a click is already on screen: it moves only if partly hidden.
  function reveal(marked, always) {
    var top = Infinity, bottom = -Infinity;
    marked.forEach(function (p) {
      var r = p.getBoundingClientRect();
      top = Math.min(top, r.top);
      bottom = Math.max(bottom, r.bottom);
    });
    var view = window.innerHeight;
    if (!always && top >= 0 && bottom <= view) return;
    var height = bottom - top;
    var offset = height < view * 0.8 ? (view - height) / 2 : 16;
    window.scrollTo(0, window.scrollY + top - offset);
  }

  // The side list scrolls on its own beside the text (on wide screens): bring the span's
  // first fact into it without moving the page.
  function showInList(li) {
    var list = li && li.closest(".doc-facts");
    if (!list || list.scrollHeight <= list.clientHeight) return;
    var top = li.getBoundingClientRect().top - list.getBoundingClientRect().top;
    if (top < 0 || top > list.clientHeight - li.offsetHeight) {
      list.scrollTop += top - list.clientHeight / 3;
    }
  }

  function clear() {
    closePanel(false);
    text.querySelectorAll(".ev.is-target").forEach(function (p) {
      p.classList.remove("is-target");
      p.removeAttribute("tabindex");
      p.removeAttribute("aria-describedby");
    });
    factItems.forEach(function (li) { li.classList.remove("is-current"); });
    current = null;
  }

  function target(key, always) {
    clear();
    if (!key) {
      status.textContent = "";
      return;
    }
    var marked = piecesOf(key);
    if (!marked.length) {
      status.textContent = "The linked passage (characters " + key.replace("-", " to ") +
        ") is not evidence in this document.";
      return;
    }
    current = key;
    marked.forEach(function (p) { p.classList.add("is-target"); });
    // The first piece takes the keyboard: Enter lists the facts, like a click.
    marked[0].setAttribute("tabindex", "0");
    marked[0].setAttribute("aria-describedby", "evidence-status");
    var facts = factsOf(key);
    facts.forEach(function (li) { li.classList.add("is-current"); });
    showInList(facts[0]);
    var quote = marked.map(function (p) { return p.textContent; }).join("");
    status.textContent = "Highlighted: the passage “" + shorten(quote, 120) + "”, evidence for " +
      plural(facts.length, "fact") + ". Select it to list them.";
    reveal(marked, always);
  }

  function closePanel(returnFocus) {
    if (!panel) return;
    panel.remove();
    panel = null;
    if (returnFocus && current) {
      var first = text.querySelector(".ev.is-target[tabindex]");
      if (first) first.focus();
    }
  }

  // Lists the facts a span supports below its last line, each linking to its record.
  function openPanel(key) {
    closePanel(false);
    var marked = piecesOf(key);
    if (!marked.length) return;
    var facts = factsOf(key);
    panel = document.createElement("div");
    panel.className = "span-facts";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-labelledby", "span-facts-h");
    var heading = document.createElement("p");
    heading.id = "span-facts-h";
    heading.className = "span-facts-h";
    heading.tabIndex = -1;
    heading.textContent = "This passage supports " + plural(facts.length, "fact") + ":";
    var list = document.createElement("ul");
    facts.forEach(function (li) {
      var item = document.createElement("li");
      var fact = li.querySelector(".fact-link");
      if (fact) item.appendChild(fact.cloneNode(true));
      list.appendChild(item);
    });
    var close = document.createElement("button");
    close.type = "button";
    close.className = "span-facts-close";
    close.textContent = "Close";
    close.addEventListener("click", function () { closePanel(true); });
    panel.appendChild(heading);
    panel.appendChild(list);
    panel.appendChild(close);
    main.appendChild(panel);
    var lines = marked[marked.length - 1].getClientRects();
    var last = lines[lines.length - 1];
    var box = main.getBoundingClientRect();
    panel.style.top = (last.bottom - box.top + 6) + "px";
    var width = panel.offsetWidth;
    panel.style.left = Math.max(0, Math.min(last.left - box.left, box.width - width)) + "px";
    heading.focus({ preventScroll: true });
  }

  // The innermost span under a click: the one with the fewest characters.
  function innermost(piece) {
    var best = null, length = Infinity;
    spansOf(piece).forEach(function (key) {
      var bounds = key.split("-");
      var n = Number(bounds[1]) - Number(bounds[0]);
      if (n < length) { best = key; length = n; }
    });
    return best;
  }

  function showingAll() {
    return toggle && toggle.checked;
  }

  text.addEventListener("click", function (event) {
    var piece = event.target.closest && event.target.closest(".ev");
    if (!piece) return;
    // Selecting text to copy it is not a request for the facts.
    var selection = window.getSelection();
    if (selection && !selection.isCollapsed) return;
    if (current && spansOf(piece).indexOf(current) >= 0) {
      openPanel(current);
    } else if (showingAll()) {
      // pushState, not location.hash: no hashchange arrives later to close the list.
      var key = innermost(piece);
      window.history.pushState(null, "", "#span-" + key);
      target(key, false);
      openPanel(key);
    }
  });

  text.addEventListener("keydown", function (event) {
    if ((event.key === "Enter" || event.key === " ") && event.target.classList &&
        event.target.classList.contains("is-target")) {
      event.preventDefault();
      openPanel(current);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && panel) closePanel(true);
  });

  document.addEventListener("click", function (event) {
    if (panel && !panel.contains(event.target) && !text.contains(event.target)) closePanel(false);
  });

  if (toggle) {
    var sync = function () { text.classList.toggle("show-all", toggle.checked); };
    toggle.addEventListener("change", sync);
    sync();
  }

  function follow() {
    var key = keyFromHash();
    if (key !== current) target(key, true);
  }
  window.addEventListener("hashchange", follow);
  window.addEventListener("popstate", follow);
  target(keyFromHash(), true);
  // The browser's own jump to the fragment can come after this file runs; centre again
  // once the page has loaded, unless the reader has picked another span by then.
  var initial = current;
  window.addEventListener("load", function () {
    if (initial && current === initial) reveal(piecesOf(current), true);
  });
})();
