// The arena battle page (templates/arena/_battle.html): answers stream in from the server's event
// stream; when both are finished (or one failed) the battle is fetched again, rendered by the server
// (markdown, vote form), and keys 1-4 vote, N starts the next battle, Ctrl+Enter sends a prompt.
(function () {
  "use strict";

  var TEXT_INPUTS = /^(text|email|password|search|url|number|tel)$/;

  function isTyping(target) {
    if (!(target instanceof HTMLElement)) return false;
    if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") return true;
    return target.tagName === "INPUT" && TEXT_INPUTS.test(target.type);
  }

  function reload(battle) {
    var url = battle.dataset.page;
    if (window.htmx && url) {
      window.htmx.ajax("GET", url, { target: "#battle", swap: "outerHTML" });
    } else if (url) {
      window.location.assign(url);
    }
  }

  function connect(battle) {
    if (!battle || !battle.dataset.stream || battle.dataset.connected) return;
    battle.dataset.connected = "true";
    var texts = {};
    var source = new EventSource(battle.dataset.stream);
    source.addEventListener("delta", function (event) {
      var data = JSON.parse(event.data);
      var pane = battle.querySelector('.streaming[data-side="' + data.side + '"]');
      if (!pane) return;
      // Offsets make a reconnect safe: the server starts again from what it has stored.
      texts[data.side] = (texts[data.side] || "").slice(0, data.offset) + data.text;
      pane.textContent = texts[data.side];
      pane.classList.add("has-text");
    });
    function finish() {
      source.close();
      reload(battle);
    }
    source.addEventListener("done", finish);
    source.addEventListener("failed", finish);
  }

  function connectAll() {
    connect(document.querySelector("#battle[data-stream]"));
  }

  document.addEventListener("DOMContentLoaded", connectAll);
  document.addEventListener("htmx:load", connectAll);
  if (document.readyState !== "loading") connectAll();

  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target instanceof HTMLTextAreaElement) {
      var form = event.target.form;
      if (form && form.closest(".arena-page")) {
        event.preventDefault();
        form.requestSubmit(form.querySelector("[data-send]") || undefined);
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
    var battle = document.getElementById("battle");
    if (!battle || !battle.closest(".arena-page")) return;
    var button = battle.querySelector('.arena-vote button[data-key="' + event.key + '"]');
    if (button) {
      event.preventDefault();
      if (!button.disabled) button.click();
      return;
    }
    if (event.key === "n" || event.key === "N") {
      var next = battle.querySelector("[data-next]");
      if (next) {
        event.preventDefault();
        next.click();
      }
    }
  });
})();
