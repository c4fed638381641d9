// Keyboard and click handling for the vote form (templates/voting/_task.html).
//
// Everything is looked up when a key is pressed, so the handlers keep working after htmx swaps in
// the next task. One key is one vote, unless the campaign asks for a rationale: then the key picks
// the outcome and puts the cursor in the rationale box, and Ctrl+Enter submits.
(function () {
  "use strict";

  // Task kinds and players (answers.js, players.js) each register a function(form) that returns
  // {parts: {...}} (ratings, spans, listening_log...) or {error: "why not yet", focus: element?}. On
  // submit the parts are merged into the hidden `answer` field as one JSON object
  // (app/tasks/schemas.TaskAnswer); an error stops the vote and says what is missing.
  var registry = (window.PreflabAnswer = window.PreflabAnswer || { providers: [] });
  registry.register = function (provider) {
    registry.providers.push(provider);
  };

  function collect(form) {
    var merged = {};
    for (var i = 0; i < registry.providers.length; i++) {
      var result = registry.providers[i](form) || {};
      if (result.error) return { problem: result };
      Object.assign(merged, result.parts || {});
    }
    return { parts: merged };
  }

  function gatherAnswer(form) {
    if (!form.elements.answer) return null;
    var collected = collect(form);
    if (collected.problem) return collected.problem.error;
    form.elements.answer.value = Object.keys(collected.parts).length ? JSON.stringify(collected.parts) : "";
    return null;
  }

  // What the task still lacks (a rating, a label...), said and focused; true when nothing is missing.
  function complete(form) {
    if (!form.elements.answer) return true;
    var problem = collect(form).problem;
    if (!problem) return true;
    hint(form, problem.error);
    if (problem.focus instanceof HTMLElement) problem.focus.focus();
    return false;
  }

  function needsOutcome(form) {
    return form.dataset.needsOutcome !== "false";
  }

  var OUTCOME_KEYS = { "1": "a", ArrowLeft: "a", "2": "b", ArrowRight: "b", "3": "tie", "4": "both_bad" };
  var TEXT_INPUTS = /^(text|email|password|search|url|number|tel)$/;

  function voteForm() {
    return document.getElementById("vote-form");
  }

  function busy(form) {
    // htmx marks the form while its request is in flight and disables the fieldset (hx-disabled-elt).
    var fieldset = form.querySelector("fieldset");
    return form.classList.contains("htmx-request") || (fieldset !== null && fieldset.disabled);
  }

  function needsRationale(form) {
    return form.dataset.requireRationale === "true";
  }

  function isTyping(target) {
    if (!(target instanceof HTMLElement)) return false;
    if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") return true;
    return target.tagName === "INPUT" && TEXT_INPUTS.test(target.type);
  }

  function hint(form, text) {
    var box = form.querySelector("[data-hint]");
    if (box) box.textContent = text;
  }

  function press(form, selector, attribute, value) {
    form.querySelectorAll(selector).forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute(attribute) === value));
    });
  }

  function setStrength(form, value) {
    form.elements.strength.value = value;
    press(form, "[data-strength]", "data-strength", value);
  }

  function choose(form, outcome) {
    if (busy(form)) return;
    form.elements.outcome.value = outcome;
    press(form, "[data-outcome]", "data-outcome", outcome);
    // Strength says how much better the chosen side is; a tie or "both bad" has none.
    if (outcome === "tie" || outcome === "both_bad") setStrength(form, "");
    // A pairwise task with a rubric keeps the choice but waits until both outputs are rated.
    if (!complete(form)) return;
    if (needsRationale(form)) {
      var box = form.elements.rationale;
      hint(form, box.value.trim() ? "Ctrl+Enter submits." : "Now say why, then press Ctrl+Enter.");
      box.focus();
    } else {
      submit(form);
    }
  }

  function submit(form) {
    if (busy(form) || !complete(form)) return;
    // A key pressed while htmx is still settling a freshly swapped-in form would reach a form htmx has
    // not wired yet and post it natively; processing it first is idempotent and closes that window.
    if (window.htmx) window.htmx.process(form);
    // requestSubmit runs the browser's checks (a required rationale) and fires the submit htmx listens to.
    form.requestSubmit();
  }

  registry.submit = submit;
  registry.hint = hint;

  // Refuse to send a vote without an outcome; the server would refuse it too, more slowly.
  document.addEventListener("htmx:confirm", function (event) {
    var form = event.target;
    if (form.id !== "vote-form") return;
    if (needsOutcome(form) && !form.elements.outcome.value) {
      event.preventDefault();
      hint(form, "Choose A, B, tie or both bad first.");
      return;
    }
    var problem = gatherAnswer(form);
    if (problem) {
      event.preventDefault();
      hint(form, problem);
    }
  });
  // Without htmx (or before it wired the form) the browser posts natively: gather the answer first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id === "vote-form" && !form.classList.contains("htmx-request")) gatherAnswer(form);
  }, true);

  document.addEventListener("click", function (event) {
    var form = voteForm();
    if (!form || !(event.target instanceof Element)) return;
    var outcome = event.target.closest("[data-outcome]");
    if (outcome && form.contains(outcome)) {
      event.preventDefault();
      choose(form, outcome.getAttribute("data-outcome"));
      return;
    }
    var strength = event.target.closest("[data-strength]");
    if (strength && form.contains(strength)) {
      event.preventDefault();
      var value = strength.getAttribute("data-strength");
      setStrength(form, form.elements.strength.value === value ? "" : value);
    }
  });

  document.addEventListener("keydown", function (event) {
    var form = voteForm();
    if (!form || event.isComposing) return;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (needsOutcome(form) && !form.elements.outcome.value) {
        hint(form, "Choose A, B, tie or both bad first.");
        return;
      }
      submit(form);
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (event.key === "g" || event.key === "G") {
      var guidelines = document.getElementById("guidelines");
      if (guidelines) guidelines.open = !guidelines.open;
      return;
    }
    if (!needsOutcome(form)) return;
    // A focused rating row (and the like) takes digits and arrows itself (answers.js).
    if (event.target instanceof Element && event.target.closest("[data-own-keys]")) return;
    var outcome = OUTCOME_KEYS[event.key];
    if (!outcome) return;
    event.preventDefault();
    // A held-down key repeats; only the first press counts.
    if (event.repeat) return;
    choose(form, outcome);
  });
})();
