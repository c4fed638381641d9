// The questions of each task kind on the task page (templates/voting/kinds/): rubric ratings, rankings,
// text spans, checklists and thumbs. Each kind registers a provider with preflab.js's PreflabAnswer,
// which merges what they return into the hidden `answer` field (app/tasks/schemas.TaskAnswer) on submit.
//
// Handlers are bound once to the document and look the form up when an event arrives, so they keep
// working after htmx swaps in the next task. Answers live in the DOM (pressed buttons, list order);
// only the marked text spans, which have no element of their own until drawn, are kept per form.
(function () {
  "use strict";

  var registry = (window.PreflabAnswer = window.PreflabAnswer || { providers: [] });
  registry.register =
    registry.register ||
    function (provider) {
      registry.providers.push(provider);
    };

  var TEXT_INPUTS = /^(text|email|password|search|url|number|tel)$/;
  // Python's \w, closely enough: the server snaps spans to words again with the real one.
  var WORD = /[\p{L}\p{N}_]/u;
  var spanState = new WeakMap();

  function voteForm() {
    return document.getElementById("vote-form");
  }

  function kind(form) {
    return form.dataset.kind;
  }

  function isTyping(target) {
    if (!(target instanceof HTMLElement)) return false;
    if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") return true;
    return target.tagName === "INPUT" && TEXT_INPUTS.test(target.type);
  }

  function hint(form, text) {
    if (registry.hint) registry.hint(form, text);
  }

  function submit(form) {
    if (registry.submit) registry.submit(form);
  }

  function upper(side) {
    return side.toUpperCase();
  }

  function pretty(name) {
    var text = name.replace(/_/g, " ");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  // Moves focus within a list of rows (ratings, checklist questions, ranked outputs).
  function step(rows, from, delta) {
    var list = Array.prototype.slice.call(rows);
    var index = list.indexOf(from) + delta;
    if (index >= 0 && index < list.length) {
      list[index].focus();
      return list[index];
    }
    return null;
  }

  function finished(form, text) {
    // Once the last question is answered, the controls take the keys: a vote key, or Enter.
    var controls = form.querySelector("[data-controls]");
    if (controls) controls.focus({ preventScroll: true });
    hint(form, text);
  }

  // ---- Ratings ---------------------------------------------------------------------------------

  function ratingRows(form) {
    return form.querySelectorAll("[data-rating]");
  }

  function setRating(row, value) {
    row.dataset.value = String(value);
    row.querySelectorAll("[data-value]").forEach(function (button) {
      button.setAttribute("aria-checked", String(button.getAttribute("data-value") === String(value)));
    });
  }

  function ratingForKey(row, key) {
    if (!/^[0-9]$/.test(key)) return null;
    var min = Number(row.dataset.min);
    var max = Number(row.dataset.max);
    var digit = Number(key);
    // A scale within 0..9 takes its values as digits; any other scale takes positions (1 = lowest).
    var value = min >= 0 && max <= 9 ? digit : min + (digit === 0 ? 9 : digit - 1);
    return value >= min && value <= max ? value : null;
  }

  function afterRating(form, row) {
    var rows = Array.prototype.slice.call(ratingRows(form));
    var open = rows.filter(function (r) {
      return !r.dataset.value;
    });
    if (!open.length) {
      var needsOutcome = form.dataset.needsOutcome === "true";
      var chosen = needsOutcome && form.elements.outcome.value;
      finished(
        form,
        !needsOutcome || chosen ? "All rated. Enter submits." : "All rated. Now choose: 1 A, 2 B, 3 tie, 4 both bad."
      );
      return;
    }
    var after = open.filter(function (r) {
      return rows.indexOf(r) > rows.indexOf(row);
    });
    (after[0] || open[0]).focus();
  }

  function ratingKey(form, row, event) {
    var value = ratingForKey(row, event.key);
    if (value !== null) {
      event.preventDefault();
      setRating(row, value);
      afterRating(form, row);
      return true;
    }
    if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      event.preventDefault();
      var min = Number(row.dataset.min);
      var max = Number(row.dataset.max);
      var current = row.dataset.value ? Number(row.dataset.value) : event.key === "ArrowLeft" ? max + 1 : min - 1;
      setRating(row, Math.max(min, Math.min(max, current + (event.key === "ArrowLeft" ? -1 : 1))));
      return true;
    }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      step(ratingRows(form), row, event.key === "ArrowDown" ? 1 : -1);
      return true;
    }
    return false;
  }

  registry.register(function (form) {
    if (form.dataset.rated !== "true") return {};
    var ratings = {};
    var missing = [];
    ratingRows(form).forEach(function (row) {
      var side = row.dataset.side;
      ratings[side] = ratings[side] || {};
      if (row.dataset.value) ratings[side][row.dataset.aspect] = Number(row.dataset.value);
      else missing.push(row);
    });
    if (missing.length) {
      var first = missing[0];
      var more = missing.length > 1 ? " (and " + (missing.length - 1) + " more)" : "";
      return {
        error: "Rate " + pretty(first.dataset.aspect) + " of " + upper(first.dataset.side) + more + " first.",
        focus: first,
      };
    }
    return { parts: { ratings: ratings } };
  });

  // ---- Ranking ---------------------------------------------------------------------------------

  function rankList(form) {
    return form.querySelector("[data-ranking]");
  }

  function rankItems(list) {
    return list.querySelectorAll("[data-rank-item]");
  }

  function refreshRanking(list) {
    var place = 0;
    rankItems(list).forEach(function (item, index) {
      if (index === 0) item.dataset.tied = "false";
      var tied = item.dataset.tied === "true";
      if (!tied) place = index + 1;
      item.querySelector("[data-rank-pos]").textContent = tied ? "=" + place : String(place);
      var tie = item.querySelector("[data-rank-tie]");
      tie.setAttribute("aria-pressed", String(tied));
      tie.disabled = index === 0;
      item.classList.toggle("tied", tied);
      item.setAttribute("aria-label", "Output " + upper(item.dataset.side) + ", place " + place + (tied ? ", tied" : ""));
    });
  }

  function moveItem(form, item, delta) {
    var list = item.parentElement;
    if (delta < 0 && item.previousElementSibling) list.insertBefore(item, item.previousElementSibling);
    else if (delta > 0 && item.nextElementSibling) list.insertBefore(item.nextElementSibling, item);
    else return;
    refreshRanking(list);
    item.focus();
    hint(form, upper(item.dataset.side) + " is now " + item.querySelector("[data-rank-pos]").textContent + ".");
  }

  function toggleTie(form, item) {
    if (!item.previousElementSibling) {
      hint(form, "The first output has nothing above it to tie with.");
      return;
    }
    item.dataset.tied = item.dataset.tied === "true" ? "false" : "true";
    refreshRanking(item.parentElement);
    hint(
      form,
      item.dataset.tied === "true"
        ? upper(item.dataset.side) + " ties with " + upper(item.previousElementSibling.dataset.side) + "."
        : upper(item.dataset.side) + " no longer tied."
    );
  }

  function rankKey(form, item, event) {
    var key = event.key;
    if ((event.altKey && (key === "ArrowUp" || key === "ArrowDown")) || key === "k" || key === "K" || key === "j" || key === "J") {
      event.preventDefault();
      moveItem(form, item, key === "ArrowUp" || key === "k" || key === "K" ? -1 : 1);
      return true;
    }
    if (event.altKey) return false;
    if (key === "ArrowUp" || key === "ArrowDown") {
      event.preventDefault();
      step(rankItems(item.parentElement), item, key === "ArrowDown" ? 1 : -1);
      return true;
    }
    if (key === "t" || key === "T") {
      event.preventDefault();
      toggleTie(form, item);
      return true;
    }
    return false;
  }

  // Dragging by the handle with pointer events: one code path for mouse, pen and touch.
  var drag = null;

  document.addEventListener("pointerdown", function (event) {
    if (!(event.target instanceof Element) || event.button !== 0) return;
    var handle = event.target.closest("[data-rank-handle]");
    var form = voteForm();
    if (!handle || !form || !form.contains(handle)) return;
    event.preventDefault();
    var item = handle.closest("[data-rank-item]");
    drag = { item: item, pointer: event.pointerId };
    item.classList.add("dragging");
    item.focus({ preventScroll: true });
  });

  document.addEventListener("pointermove", function (event) {
    if (!drag || event.pointerId !== drag.pointer) return;
    event.preventDefault();
    var list = drag.item.parentElement;
    var before = null;
    Array.prototype.some.call(rankItems(list), function (other) {
      if (other === drag.item) return false;
      var box = other.getBoundingClientRect();
      if (event.clientY < box.top + box.height / 2) {
        before = other;
        return true;
      }
      return false;
    });
    if (before !== drag.item.nextElementSibling) {
      list.insertBefore(drag.item, before);
      refreshRanking(list);
    }
  });

  function endDrag(event) {
    if (!drag || event.pointerId !== drag.pointer) return;
    var item = drag.item;
    drag = null;
    item.classList.remove("dragging");
    refreshRanking(item.parentElement);
    var form = voteForm();
    if (form) hint(form, upper(item.dataset.side) + " is now " + item.querySelector("[data-rank-pos]").textContent + ".");
  }
  document.addEventListener("pointerup", endDrag);
  document.addEventListener("pointercancel", endDrag);

  registry.register(function (form) {
    var list = rankList(form);
    if (kind(form) !== "ranking" || !list) return {};
    var ranking = [];
    rankItems(list).forEach(function (item, index) {
      if (index > 0 && item.dataset.tied === "true") ranking[ranking.length - 1].push(item.dataset.side);
      else ranking.push([item.dataset.side]);
    });
    return { parts: { ranking: ranking } };
  });

  // ---- Text spans ------------------------------------------------------------------------------

  function spansOf(form) {
    if (!spanState.has(form)) spanState.set(form, { spans: [], pending: null });
    return spanState.get(form);
  }

  function rawText(container) {
    return JSON.parse(container.dataset.content);
  }

  function isWord(ch) {
    return ch !== undefined && WORD.test(ch);
  }

  // The same widening as app/tasks/answers.snap_to_words.
  function snap(text, start, end) {
    while (start < end && /\s/.test(text[start])) start++;
    while (end > start && /\s/.test(text[end - 1])) end--;
    while (start > 0 && start < end && isWord(text[start - 1]) && isWord(text[start])) start--;
    while (end < text.length && end > start && isWord(text[end - 1]) && isWord(text[end])) end++;
    return [start, end];
  }

  function textContainer(form, side) {
    return form.querySelector('[data-span-text][data-side="' + side + '"]');
  }

  // Draws the output's text with a <mark> per stretch covered by spans; labels come from CSS
  // (attr(data-label)), so the text nodes hold exactly `content` and DOM offsets stay content offsets.
  function drawText(form, container) {
    var text = rawText(container);
    var side = container.dataset.side;
    var state = spansOf(form);
    var marks = state.spans
      .map(function (span, index) {
        return { start: span.start, end: span.end, label: span.label, index: index, pending: false };
      })
      .filter(function (_, index) {
        return state.spans[index].side === side;
      });
    if (state.pending && state.pending.side === side) {
      marks.push({ start: state.pending.start, end: state.pending.end, label: "", index: -1, pending: true });
    }
    var cuts = [0, text.length];
    marks.forEach(function (m) {
      cuts.push(m.start, m.end);
    });
    cuts = cuts
      .filter(function (c, i) {
        return cuts.indexOf(c) === i;
      })
      .sort(function (a, b) {
        return a - b;
      });
    var fragment = document.createDocumentFragment();
    for (var i = 0; i + 1 < cuts.length; i++) {
      var from = cuts[i];
      var to = cuts[i + 1];
      var piece = document.createTextNode(text.slice(from, to));
      var covering = marks.filter(function (m) {
        return m.start <= from && m.end >= to;
      });
      if (!covering.length) {
        fragment.appendChild(piece);
        continue;
      }
      var mark = document.createElement("mark");
      mark.className = "span-mark";
      if (covering.some(function (m) { return m.pending; })) mark.classList.add("pending");
      var ending = covering.filter(function (m) {
        return m.end === to && !m.pending;
      });
      if (ending.length) {
        mark.dataset.label = ending.map(function (m) { return m.label; }).join(", ");
      }
      mark.title = covering.map(function (m) { return m.pending ? "selected" : m.label; }).join(", ");
      mark.appendChild(piece);
      fragment.appendChild(mark);
    }
    container.replaceChildren(fragment);
  }

  function drawList(form, side) {
    var list = form.querySelector('[data-span-list][data-side="' + side + '"]');
    if (!list) return;
    var container = textContainer(form, side);
    var text = rawText(container);
    var state = spansOf(form);
    var items = state.spans
      .map(function (span, index) {
        return { span: span, index: index };
      })
      .filter(function (entry) {
        return entry.span.side === side;
      })
      .sort(function (x, y) {
        return x.span.start - y.span.start || x.span.end - y.span.end;
      });
    list.replaceChildren();
    items.forEach(function (entry) {
      var li = document.createElement("li");
      li.className = "span-item";
      var label = document.createElement("span");
      label.className = "span-tag";
      label.textContent = entry.span.label;
      var quote = document.createElement("q");
      quote.textContent = text.slice(entry.span.start, entry.span.end);
      var comment = document.createElement("input");
      comment.type = "text";
      comment.maxLength = 2000;
      comment.placeholder = "Comment (optional)";
      comment.value = entry.span.comment || "";
      comment.setAttribute("data-span-edit", String(entry.index));
      comment.setAttribute("aria-label", "Comment on the span " + quote.textContent);
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link";
      remove.textContent = "Remove";
      remove.setAttribute("data-span-remove", String(entry.index));
      remove.setAttribute("aria-label", "Remove the span " + quote.textContent);
      li.append(label, quote, comment, remove);
      list.appendChild(li);
    });
  }

  function drawSide(form, side) {
    var container = textContainer(form, side);
    if (!container) return;
    drawText(form, container);
    drawList(form, side);
  }

  function popoverOf(form, side) {
    return form.querySelector('[data-span-popover][data-side="' + side + '"]');
  }

  function closePopover(form) {
    var state = spansOf(form);
    var pending = state.pending;
    state.pending = null;
    form.querySelectorAll("[data-span-popover]").forEach(function (pop) {
      pop.hidden = true;
    });
    if (pending) drawSide(form, pending.side);
  }

  function openPopover(form, side, start, end, takeFocus) {
    var container = textContainer(form, side);
    var text = rawText(container);
    var snapped = snap(text, start, end);
    var state = spansOf(form);
    var previous = state.pending;
    if (snapped[0] >= snapped[1]) {
      if (previous) closePopover(form);
      return;
    }
    state.pending = { side: side, start: snapped[0], end: snapped[1] };
    if (previous && previous.side !== side) drawSide(form, previous.side);
    drawText(form, container);
    var pop = popoverOf(form, side);
    pop.querySelector("[data-span-quote]").textContent = "“" + text.slice(snapped[0], snapped[1]) + "”";
    pop.hidden = false;
    // Just below the selection, inside the output's card.
    var marks = container.querySelectorAll("mark.pending");
    var anchor = marks.length ? marks[marks.length - 1] : container;
    var card = pop.offsetParent || container;
    var box = anchor.getBoundingClientRect();
    var frame = card.getBoundingClientRect();
    pop.style.top = Math.round(box.bottom - frame.top + 6) + "px";
    var left = Math.round(box.left - frame.left);
    pop.style.left = Math.max(8, Math.min(left, frame.width - pop.offsetWidth - 8)) + "px";
    if (takeFocus) pop.focus({ preventScroll: true });
  }

  function labelPending(form, label) {
    var state = spansOf(form);
    var pending = state.pending;
    if (!pending) return;
    var pop = popoverOf(form, pending.side);
    var comment = pop.querySelector("[data-span-comment]");
    state.spans.push({
      side: pending.side,
      start: pending.start,
      end: pending.end,
      label: label,
      comment: comment.value.trim(),
    });
    comment.value = "";
    state.pending = null;
    pop.hidden = true;
    var container = textContainer(form, pending.side);
    var caret = caretOf(container);
    caret.anchor = caret.focus = pending.end;
    var selection = window.getSelection();
    if (selection) selection.removeAllRanges();
    drawSide(form, pending.side);
    container.focus({ preventScroll: true });
    hint(form, "Marked “" + rawText(container).slice(pending.start, pending.end) + "” as " + label + ".");
  }

  function labelByKey(form, key) {
    var state = spansOf(form);
    if (!state.pending || !/^[1-9]$/.test(key)) return false;
    var buttons = popoverOf(form, state.pending.side).querySelectorAll("[data-span-label]");
    var button = buttons[Number(key) - 1];
    if (!button) return false;
    labelPending(form, button.getAttribute("data-span-label"));
    return true;
  }

  // Characters of `container`'s text before (node, offset): the text nodes hold `content` exactly.
  function offsetIn(container, node, offset) {
    var range = document.createRange();
    range.selectNodeContents(container);
    try {
      range.setEnd(node, offset);
    } catch (error) {
      return null;
    }
    return range.toString().length;
  }

  function selectedSpan(container) {
    var selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
    var range = selection.getRangeAt(0);
    var length = rawText(container).length;
    // A drag that runs out of the output is cut at its edges.
    var start = container.contains(range.startContainer)
      ? offsetIn(container, range.startContainer, range.startOffset)
      : range.comparePoint(container, 0) >= 0 ? 0 : null;
    var end = container.contains(range.endContainer)
      ? offsetIn(container, range.endContainer, range.endOffset)
      : range.comparePoint(container, container.childNodes.length) <= 0 ? length : null;
    if (start === null || end === null || start >= end) return null;
    return [start, end];
  }

  // Keyboard selection: a caret of our own, moved by words (spans snap to words anyway).
  var carets = new WeakMap();

  function caretOf(container) {
    if (!carets.has(container)) carets.set(container, { anchor: 0, focus: 0 });
    return carets.get(container);
  }

  function wordRight(text, i) {
    while (i < text.length && !isWord(text[i])) i++;
    while (i < text.length && isWord(text[i])) i++;
    return i;
  }

  function wordLeft(text, i) {
    while (i > 0 && !isWord(text[i - 1])) i--;
    while (i > 0 && isWord(text[i - 1])) i--;
    return i;
  }

  function spanTextKey(form, container, event) {
    var key = event.key;
    if (labelByKey(form, key)) {
      event.preventDefault();
      return true;
    }
    if (key === "Escape") {
      closePopover(form);
      return true;
    }
    if (key === "Enter" && spansOf(form).pending) {
      event.preventDefault();
      popoverOf(form, spansOf(form).pending.side).querySelector("[data-span-comment]").focus();
      return true;
    }
    if (key !== "ArrowRight" && key !== "ArrowLeft" && key !== "Home" && key !== "End") return false;
    event.preventDefault();
    var text = rawText(container);
    var caret = caretOf(container);
    var at =
      key === "Home" ? 0 : key === "End" ? text.length : key === "ArrowRight" ? wordRight(text, caret.focus) : wordLeft(text, caret.focus);
    caret.focus = at;
    if (!event.shiftKey) caret.anchor = at;
    if (caret.anchor === caret.focus) {
      closePopover(form);
      hint(form, "Shift+arrows select words.");
      return true;
    }
    openPopover(form, container.dataset.side, Math.min(caret.anchor, caret.focus), Math.max(caret.anchor, caret.focus), false);
    hint(form, "Press a label's number, Enter for a comment, Esc to cancel.");
    return true;
  }

  document.addEventListener("mouseup", function (event) {
    var form = voteForm();
    if (!form || !(event.target instanceof Element)) return;
    // Wait for the browser to settle the selection the mouse just made.
    window.setTimeout(function () {
      var selection = window.getSelection();
      if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return;
      var node = selection.getRangeAt(0).commonAncestorContainer;
      var element = node instanceof Element ? node : node.parentElement;
      var container = element && element.closest("[data-span-text]");
      if (!container) {
        // A drag that starts in an output and runs past its end still counts for that output.
        var start = selection.anchorNode;
        var from = start instanceof Element ? start : start && start.parentElement;
        container = from && from.closest("[data-span-text]");
      }
      if (!container || !form.contains(container)) return;
      var span = selectedSpan(container);
      if (!span) return;
      var caret = caretOf(container);
      caret.anchor = span[0];
      caret.focus = span[1];
      openPopover(form, container.dataset.side, span[0], span[1], true);
      hint(form, "Press a label's number (or click one); Esc cancels.");
    }, 0);
  });

  document.addEventListener("input", function (event) {
    var form = voteForm();
    var target = event.target;
    if (!form || !(target instanceof HTMLInputElement) || !target.hasAttribute("data-span-edit")) return;
    var span = spansOf(form).spans[Number(target.getAttribute("data-span-edit"))];
    if (span) span.comment = target.value;
  });

  registry.register(function (form) {
    if (kind(form) !== "segment" || form.dataset.segmentMode !== "spans") return {};
    var state = spansOf(form);
    if (state.pending) {
      return {
        error: "Pick a label for the selected words, or press Esc to drop them.",
        focus: popoverOf(form, state.pending.side),
      };
    }
    return {
      parts: {
        spans: state.spans.map(function (span) {
          return { side: span.side, start: span.start, end: span.end, label: span.label, comment: span.comment.trim() };
        }),
      },
    };
  });

  // ---- Checklist -------------------------------------------------------------------------------

  function checkRows(form) {
    return form.querySelectorAll("[data-check]");
  }

  function setCheck(row, value) {
    row.dataset.value = value;
    row.querySelectorAll("[data-check-value]").forEach(function (button) {
      button.setAttribute("aria-checked", String(button.getAttribute("data-check-value") === value));
    });
  }

  function afterCheck(form, row) {
    var rows = Array.prototype.slice.call(checkRows(form));
    var open = rows.filter(function (r) {
      return !r.dataset.value;
    });
    if (!open.length) {
      finished(form, "All answered. Enter submits.");
      return;
    }
    var after = open.filter(function (r) {
      return rows.indexOf(r) > rows.indexOf(row);
    });
    (after[0] || open[0]).focus();
  }

  function checkKey(form, row, event) {
    var key = event.key.toLowerCase();
    if (key === "y" || key === "n") {
      event.preventDefault();
      setCheck(row, key === "y" ? "yes" : "no");
      afterCheck(form, row);
      return true;
    }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      step(checkRows(form), row, event.key === "ArrowDown" ? 1 : -1);
      return true;
    }
    return false;
  }

  registry.register(function (form) {
    if (kind(form) !== "checklist") return {};
    var checklist = {};
    var missing = null;
    checkRows(form).forEach(function (row) {
      if (row.dataset.value) checklist[row.dataset.question] = row.dataset.value === "yes";
      else if (!missing) missing = row;
    });
    if (missing) {
      return { error: "Answer yes or no: " + missing.querySelector(".check-text").textContent.trim(), focus: missing };
    }
    return { parts: { checklist: checklist } };
  });

  // ---- Thumbs ----------------------------------------------------------------------------------

  var THUMB_KEYS = { "1": "up", u: "up", U: "up", ArrowUp: "up", "2": "down", d: "down", D: "down", ArrowDown: "down" };

  function setThumb(form, value) {
    form.querySelectorAll("[data-thumb]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-thumb") === value));
    });
  }

  function chooseThumb(form, value) {
    setThumb(form, value);
    if (form.dataset.requireRationale === "true") {
      var box = form.elements.rationale;
      hint(form, box.value.trim() ? "Ctrl+Enter submits." : "Now say why, then press Ctrl+Enter.");
      box.focus();
    } else {
      submit(form);
    }
  }

  registry.register(function (form) {
    if (kind(form) !== "single") return {};
    var pressed = form.querySelector('[data-thumb][aria-pressed="true"]');
    if (!pressed) return { error: "Thumbs up or down? Press 1 or 2." };
    return { parts: { thumb: pressed.getAttribute("data-thumb") } };
  });

  // ---- Events ----------------------------------------------------------------------------------

  document.addEventListener("click", function (event) {
    var form = voteForm();
    if (!form || !(event.target instanceof Element) || !form.contains(event.target)) return;
    var target = event.target;
    var point = target.closest("[data-rating] [data-value]");
    if (point) {
      var row = point.closest("[data-rating]");
      setRating(row, Number(point.getAttribute("data-value")));
      row.focus({ preventScroll: true });
      if (!Array.prototype.some.call(ratingRows(form), function (r) { return !r.dataset.value; })) afterRating(form, row);
      return;
    }
    var check = target.closest("[data-check] [data-check-value]");
    if (check) {
      var question = check.closest("[data-check]");
      setCheck(question, check.getAttribute("data-check-value"));
      question.focus({ preventScroll: true });
      return;
    }
    var tie = target.closest("[data-rank-tie]");
    if (tie) {
      toggleTie(form, tie.closest("[data-rank-item]"));
      return;
    }
    var move = target.closest("[data-rank-move]");
    if (move) {
      moveItem(form, move.closest("[data-rank-item]"), move.getAttribute("data-rank-move") === "up" ? -1 : 1);
      return;
    }
    var label = target.closest("[data-span-label]");
    if (label) {
      labelPending(form, label.getAttribute("data-span-label"));
      return;
    }
    if (target.closest("[data-span-cancel]")) {
      closePopover(form);
      return;
    }
    var remove = target.closest("[data-span-remove]");
    if (remove) {
      var state = spansOf(form);
      var index = Number(remove.getAttribute("data-span-remove"));
      var side = state.spans[index].side;
      state.spans.splice(index, 1);
      drawSide(form, side);
      hint(form, "Span removed.");
      return;
    }
    var thumb = target.closest("[data-thumb]");
    if (thumb) {
      event.preventDefault();
      chooseThumb(form, thumb.getAttribute("data-thumb"));
    }
  });

  function submitByEnter(form) {
    if (form.dataset.needsOutcome === "true" && !form.elements.outcome.value) {
      hint(form, "Choose A, B, tie or both bad first.");
      return;
    }
    submit(form);
  }

  document.addEventListener("keydown", function (event) {
    var form = voteForm();
    if (!form || event.isComposing || event.defaultPrevented) return;
    if (event.ctrlKey || event.metaKey) return; // Ctrl+Enter is preflab.js's
    var target = event.target;
    if (target instanceof HTMLInputElement && target.hasAttribute("data-span-comment") && event.key === "Enter") {
      // From the popover's comment box on to its labels.
      event.preventDefault();
      var first = target.closest("[data-span-popover]").querySelector("[data-span-label]");
      if (first) first.focus();
      return;
    }
    if (isTyping(target)) return;
    var inForm = target instanceof Element && form.contains(target);
    var row = inForm && target.closest("[data-rating]");
    if (row && ratingKey(form, row, event)) return;
    var item = inForm && target.closest("[data-rank-item]");
    if (item && target === item && rankKey(form, item, event)) return;
    var question = inForm && target.closest("[data-check]");
    if (question && checkKey(form, question, event)) return;
    var text = inForm && target.closest("[data-span-text]");
    if (text && spanTextKey(form, text, event)) return;
    if (event.altKey) return;
    if (inForm && target.closest("[data-span-popover]")) {
      if (labelByKey(form, event.key)) {
        event.preventDefault();
        return;
      }
      if (event.key === "Escape") {
        var pending = spansOf(form).pending;
        closePopover(form);
        if (pending) textContainer(form, pending.side).focus({ preventScroll: true });
        return;
      }
    } else if (labelByKey(form, event.key)) {
      event.preventDefault();
      return;
    }
    if (kind(form) === "single" && THUMB_KEYS[event.key]) {
      event.preventDefault();
      if (!event.repeat) chooseThumb(form, THUMB_KEYS[event.key]);
      return;
    }
    if (event.key === "Enter" && !(target instanceof HTMLButtonElement) && !(target instanceof HTMLAnchorElement)) {
      if (target instanceof Element && target.closest("summary")) return;
      if (form.dataset.needsOutcome === "true" && form.dataset.rated !== "true") return;
      event.preventDefault();
      if (!event.repeat) submitByEnter(form);
    }
  });

  // ---- Set-up of each task shown: redraw a refused vote's answer, focus the first question ----

  function reapply(form) {
    var sent;
    try {
      sent = form.elements.answer && form.elements.answer.value ? JSON.parse(form.elements.answer.value) : null;
    } catch (error) {
      sent = null;
    }
    if (!sent || typeof sent !== "object") return;
    if (sent.ratings) {
      ratingRows(form).forEach(function (row) {
        var given = sent.ratings[row.dataset.side];
        if (given && given[row.dataset.aspect] !== undefined) setRating(row, given[row.dataset.aspect]);
      });
    }
    var list = rankList(form);
    if (Array.isArray(sent.ranking) && list) {
      sent.ranking.forEach(function (group) {
        (group || []).forEach(function (side, index) {
          var item = list.querySelector('[data-rank-item][data-side="' + side + '"]');
          if (!item) return;
          item.dataset.tied = index > 0 ? "true" : "false";
          list.appendChild(item);
        });
      });
    }
    if (Array.isArray(sent.spans)) {
      var state = spansOf(form);
      sent.spans.forEach(function (span) {
        var container = span && textContainer(form, span.side);
        if (!container || typeof span.start !== "number" || typeof span.end !== "number") return;
        state.spans.push({
          side: span.side,
          start: span.start,
          end: span.end,
          label: String(span.label || ""),
          comment: String(span.comment || ""),
        });
      });
    }
    if (sent.checklist) {
      checkRows(form).forEach(function (row) {
        var given = sent.checklist[row.dataset.question];
        if (typeof given === "boolean") setCheck(row, given ? "yes" : "no");
      });
    }
    if (sent.thumb) setThumb(form, sent.thumb);
  }

  function setUp() {
    var form = voteForm();
    if (!form || form.dataset.answersReady) return;
    form.dataset.answersReady = "true";
    reapply(form);
    var list = rankList(form);
    if (list) refreshRanking(list);
    form.querySelectorAll("[data-span-text]").forEach(function (container) {
      drawSide(form, container.dataset.side);
    });
    var first =
      Array.prototype.find.call(ratingRows(form), function (r) { return !r.dataset.value; }) ||
      Array.prototype.find.call(checkRows(form), function (r) { return !r.dataset.value; }) ||
      (list && list.querySelector("[data-rank-item]")) ||
      form.querySelector("[data-span-text]");
    // Keyboard first: the first open question takes keys straight away.
    if (first) first.focus({ preventScroll: true });
  }

  document.addEventListener("DOMContentLoaded", setUp);
  document.addEventListener("htmx:afterSettle", setUp);
  if (document.readyState !== "loading") setUp();
})();
