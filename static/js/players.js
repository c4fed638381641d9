// Synchronised media players for the task page (templates/voting/players/).
//
// Each side's first audio/video clip plays under one transport: play, pause and seek move every side
// together, and only the side picked with the A/B switch is heard. What the annotator did is kept as a
// listening log for the vote; time ranges and per-window preferences are marked on the same clock.
// Images of all sides zoom, pan and page together, and can flicker in one place.
//
// One state object per vote form, made when the form appears (first load, or an htmx swap); every
// handler is bound on the document and looks the state up at event time.
(function () {
  "use strict";
  if (window.PreflabPlayers) return;

  var FRAME_S = 1 / 25;
  var DRIFT_S = 0.06; // how far a muted side may run from the audible one before it is put back
  var FLICKER_MS = 600;
  var MAX_ZOOM = 8;
  var TEXT_INPUTS = /^(text|email|password|search|url|number|tel)$/;
  var WINDOW_VALUES = { "1": "a", "2": "b", "3": "tie" };

  function number(value, fallback) {
    var parsed = parseFloat(value);
    return isFinite(parsed) ? parsed : fallback;
  }

  function clock(seconds) {
    seconds = Math.max(0, seconds || 0);
    var minutes = Math.floor(seconds / 60);
    var rest = seconds - minutes * 60;
    return minutes + ":" + (rest < 10 ? "0" : "") + rest.toFixed(1);
  }

  function isTyping(target) {
    if (!(target instanceof HTMLElement)) return false;
    if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") return true;
    return target.tagName === "INPUT" && TEXT_INPUTS.test(target.type);
  }

  // ---- state -------------------------------------------------------------------------------------

  function Players(form) {
    var box = form.querySelector("[data-players]");
    this.form = form;
    this.box = box;
    this.kind = box.dataset.kind;
    this.mode = box.dataset.segmentMode || "";
    this.windowS = number(box.dataset.windowS, 1);
    this.minListen = number(box.dataset.minListenS, 0);
    this.origin = performance.now();
    this.log = [];
    this.ranges = [];
    this.draft = null;
    this.windows = [];
    this.tracks = [];
    this.playing = false;
    this.view = { zoom: 1, x: 0, y: 0, index: 0, flicker: false, showing: 0, timer: null };
    var self = this;
    form.querySelectorAll("[data-track]").forEach(function (track) {
      var element = track.querySelector("[data-timed]");
      if (!element) return;
      element.controls = false; // the shared transport drives it
      self.tracks.push({
        side: track.dataset.side,
        element: element,
        knownS: element.dataset.durationS ? number(element.dataset.durationS, null) : null,
        wave: track.querySelector("[data-wave]"),
      });
    });
    this.selected = this.tracks.length ? this.tracks[0].side : null;
    // Videos are all watched at once: play and pause count for every side, a switch only moves the sound.
    this.watched = this.tracks.length > 0 && this.tracks.every(function (track) {
      return track.element.tagName === "VIDEO";
    });
    this.viewers = Array.prototype.slice.call(form.querySelectorAll("[data-viewer]"));
    this.restore();
    form.classList.add("players-on");
    box.hidden = false;
    this.tracks.forEach(function (track) {
      track.element.muted = track.side !== self.selected;
      ["loadedmetadata", "durationchange"].forEach(function (name) {
        track.element.addEventListener(name, function () {
          self.render();
        });
      });
      track.element.addEventListener("ended", function () {
        if (track.side === self.selected && self.playing) self.stop("ended");
      });
      if (track.wave && track.element.tagName === "AUDIO") self.loadPeaks(track);
    });
    this.showImage();
    this.render();
  }

  Players.prototype.alive = function () {
    return this.form.isConnected;
  };

  Players.prototype.wallMs = function () {
    return Math.max(0, Math.round(performance.now() - this.origin));
  };

  // A vote the server refused comes back with the answer that was sent: carry its marks and log on.
  Players.prototype.restore = function () {
    var field = this.form.elements.answer;
    if (!field || !field.value) return;
    var sent;
    try {
      sent = JSON.parse(field.value);
    } catch (error) {
      return;
    }
    if (Array.isArray(sent.time_ranges)) this.ranges = sent.time_ranges;
    if (Array.isArray(sent.windows)) this.windows = sent.windows;
    if (Array.isArray(sent.listening_log) && sent.listening_log.length) {
      this.log = sent.listening_log;
      var last = Math.max.apply(null, this.log.map(function (e) { return e.wall_ms || 0; }));
      this.origin = performance.now() - last;
    }
  };

  Players.prototype.track = function (side) {
    for (var i = 0; i < this.tracks.length; i++) if (this.tracks[i].side === side) return this.tracks[i];
    return null;
  };

  Players.prototype.master = function () {
    var track = this.track(this.selected);
    return track ? track.element : null;
  };

  Players.prototype.now = function () {
    var master = this.master();
    return master ? master.currentTime : 0;
  };

  function elementDuration(track) {
    var d = track.element.duration;
    if (isFinite(d) && d > 0) return d;
    return track.knownS;
  }

  // The longest clip: the seek bar's length.
  Players.prototype.duration = function () {
    var longest = 0;
    this.tracks.forEach(function (track) {
      longest = Math.max(longest, elementDuration(track) || 0);
    });
    return longest;
  };

  Players.prototype.record = function (event, side) {
    if (!side) return;
    this.log.push({
      side: side,
      event: event,
      media_s: Math.round(Math.max(0, this.now()) * 1000) / 1000,
      wall_ms: this.wallMs(),
    });
  };

  // Play, pause and ended: for the side heard, or for every side of a video (all are on screen).
  Players.prototype.recordShown = function (event) {
    var self = this;
    if (!this.watched) {
      this.record(event, this.selected);
      return;
    }
    this.tracks.forEach(function (track) {
      self.record(event, track.side);
    });
  };

  // ---- transport ---------------------------------------------------------------------------------

  Players.prototype.play = function () {
    if (this.playing || !this.tracks.length) return;
    var master = this.master();
    if (master.ended || (elementDuration(this.track(this.selected)) || Infinity) - master.currentTime < 0.02) {
      this.setTime(0);
    }
    var at = master.currentTime;
    var self = this;
    this.playing = true;
    this.tracks.forEach(function (track) {
      var element = track.element;
      element.muted = track.side !== self.selected;
      if (Math.abs(element.currentTime - at) > DRIFT_S) element.currentTime = Math.min(at, elementDuration(track) || at);
      var started = element.play();
      if (started && started.catch) started.catch(function () {});
    });
    this.recordShown("play");
    this.tick();
    this.render();
  };

  // Pause, or the audible clip ended: every side stops at the audible side's time.
  Players.prototype.stop = function (event) {
    if (!this.playing) return;
    this.playing = false;
    var at = this.now();
    this.tracks.forEach(function (track) {
      track.element.pause();
    });
    this.setTime(at);
    this.recordShown(event);
    this.render();
  };

  Players.prototype.toggle = function () {
    if (this.playing) this.stop("pause");
    else this.play();
  };

  Players.prototype.setTime = function (seconds) {
    seconds = Math.max(0, seconds);
    this.tracks.forEach(function (track) {
      var length = elementDuration(track);
      track.element.currentTime = length ? Math.min(seconds, length) : seconds;
    });
  };

  Players.prototype.seek = function (seconds, quiet) {
    if (!this.tracks.length) return;
    var length = this.duration();
    this.setTime(length ? Math.min(seconds, length) : seconds);
    if (!quiet) this.record("seek", this.selected);
    this.render();
  };

  Players.prototype.step = function (frames) {
    if (this.playing) this.stop("pause");
    this.seek(this.now() + frames * FRAME_S);
  };

  // The other side becomes audible at the same position; the log says which side is heard from now.
  Players.prototype.listen = function (side) {
    var track = this.track(side);
    if (!track || side === this.selected) return;
    var at = this.now();
    this.selected = side;
    this.tracks.forEach(function (other) {
      other.element.muted = other.side !== side;
    });
    if (Math.abs(track.element.currentTime - at) > DRIFT_S / 2) track.element.currentTime = at;
    if (!this.watched) this.record("switch", side);
    this.render();
  };

  Players.prototype.switchSide = function () {
    if (this.tracks.length < 2) return;
    var index = 0;
    for (var i = 0; i < this.tracks.length; i++) if (this.tracks[i].side === this.selected) index = i;
    this.listen(this.tracks[(index + 1) % this.tracks.length].side);
  };

  // While playing: keep the muted sides on the audible side's clock, and move the displays.
  Players.prototype.tick = function () {
    var self = this;
    if (!this.alive()) {
      this.tracks.forEach(function (track) { track.element.pause(); });
      return;
    }
    if (!this.playing) return;
    var master = this.master();
    var at = master.currentTime;
    this.tracks.forEach(function (track) {
      var element = track.element;
      if (element === master || element.seeking) return;
      var length = elementDuration(track) || Infinity;
      if (at >= length) return;
      if (element.paused && !element.ended) {
        var resumed = element.play();
        if (resumed && resumed.catch) resumed.catch(function () {});
      }
      if (Math.abs(element.currentTime - at) > DRIFT_S) element.currentTime = at;
    });
    this.render();
    window.requestAnimationFrame(function () {
      self.tick();
    });
  };

  // ---- listening time ----------------------------------------------------------------------------

  // Seconds each side was heard, counted as app/tasks/answers.listened_seconds counts them.
  Players.prototype.listened = function () {
    var end = this.wallMs();
    var playing = {};
    var total = {};
    function stop(side, at) {
      if (!(side in playing)) return;
      total[side] = (total[side] || 0) + Math.max(0, at - playing[side]) / 1000;
      delete playing[side];
    }
    var events = this.log.slice().sort(function (x, y) { return x.wall_ms - y.wall_ms; });
    events.forEach(function (event) {
      var at = Math.min(event.wall_ms, end);
      if (event.event === "play") {
        if (!(event.side in playing)) playing[event.side] = at;
      } else if (event.event === "pause" || event.event === "ended") {
        stop(event.side, at);
      } else if (event.event === "switch") {
        var wasPlaying = Object.keys(playing).length > 0;
        Object.keys(playing).forEach(function (side) {
          if (side !== event.side) stop(side, at);
        });
        if (wasPlaying && !(event.side in playing)) playing[event.side] = at;
      }
    });
    Object.keys(playing).forEach(function (side) { stop(side, end); });
    return total;
  };

  // What each side still needs: the minimum, or the whole clip when it is shorter (as the server says).
  Players.prototype.shortfall = function () {
    if (!(this.minListen > 0)) return [];
    var heard = this.listened();
    var self = this;
    var short = [];
    this.tracks.forEach(function (track) {
      var need = Math.min(self.minListen, track.knownS || Infinity) - 0.05;
      var got = heard[track.side] || 0;
      if (got < need) short.push({ side: track.side, got: got, left: need + 0.05 - got });
    });
    return short;
  };

  // ---- windows (DenseDPO) ------------------------------------------------------------------------

  Players.prototype.windowCount = function () {
    var shortest = Infinity;
    for (var i = 0; i < this.tracks.length; i++) {
      var track = this.tracks[i];
      // The server counts windows on the lengths it knows; the browser's are the fallback.
      var length = track.knownS || elementDuration(track);
      if (!length) return 0;
      shortest = Math.min(shortest, length);
    }
    if (!isFinite(shortest)) return 0;
    return Math.max(1, Math.ceil(shortest / this.windowS - 1e-9));
  };

  Players.prototype.currentWindow = function () {
    var count = this.windowCount();
    return Math.min(count - 1, Math.floor(this.now() / this.windowS + 1e-6));
  };

  Players.prototype.setWindow = function (value) {
    var count = this.windowCount();
    if (!count) return;
    var index = this.currentWindow();
    this.windows[index] = value;
    if (index + 1 < count) this.seek((index + 1) * this.windowS + 0.001);
    this.render();
  };

  // ---- time ranges -------------------------------------------------------------------------------

  Players.prototype.mark = function (end) {
    if (!this.tracks.length) return;
    var at = Math.round(this.now() * 1000) / 1000;
    if (!this.draft || this.draft.side !== this.selected) this.draft = { side: this.selected, start: null, end: null };
    if (end) this.draft.end = at;
    else this.draft.start = at;
    this.render();
  };

  Players.prototype.draftRange = function () {
    var d = this.draft;
    if (!d || d.start === null || d.end === null || d.start === d.end) return null;
    return { side: d.side, start_s: Math.min(d.start, d.end), end_s: Math.max(d.start, d.end) };
  };

  Players.prototype.addRange = function () {
    var range = this.draftRange();
    if (!range) return;
    var label = this.box.querySelector("[data-range-label]");
    var comment = this.box.querySelector("[data-range-comment]");
    range.label = label ? label.value : "";
    range.comment = comment ? comment.value.trim() : "";
    this.ranges.push(range);
    this.ranges.sort(function (x, y) { return x.start_s - y.start_s; });
    this.draft = null;
    if (comment) comment.value = "";
    this.render();
  };

  // ---- images ------------------------------------------------------------------------------------

  Players.prototype.images = function (viewer) {
    return Array.prototype.slice.call(viewer.querySelectorAll(".viewer-stage > img"));
  };

  Players.prototype.currentImage = function (viewer) {
    var images = this.images(viewer);
    return images[Math.min(this.view.index, images.length - 1)];
  };

  Players.prototype.showImage = function () {
    var self = this;
    this.viewers.forEach(function (viewer) {
      var current = self.currentImage(viewer);
      self.images(viewer).forEach(function (image) {
        image.classList.toggle("current", image === current);
      });
    });
    this.applyView();
  };

  Players.prototype.page = function (delta) {
    var most = 0;
    var self = this;
    this.viewers.forEach(function (viewer) { most = Math.max(most, self.images(viewer).length); });
    if (most < 2) return;
    this.view.index = (this.view.index + delta + most) % most;
    this.showImage();
    var output = this.box.querySelector("[data-image-index]");
    if (output) output.textContent = this.view.index + 1 + " / " + most;
  };

  Players.prototype.clampView = function () {
    var viewer = this.viewers[0];
    if (!viewer) return;
    var width = viewer.clientWidth;
    var height = viewer.querySelector(".viewer-stage").clientHeight;
    var v = this.view;
    v.x = Math.min(0, Math.max(width * (1 - v.zoom), v.x));
    v.y = Math.min(0, Math.max(height * (1 - v.zoom), v.y));
  };

  // Zoom by `factor` about a point of the viewer (its centre unless given), on every side at once.
  Players.prototype.zoom = function (factor, px, py) {
    var viewer = this.viewers[0];
    if (!viewer) return;
    var v = this.view;
    var next = Math.min(MAX_ZOOM, Math.max(1, v.zoom * factor));
    if (px === undefined) {
      px = viewer.clientWidth / 2;
      py = viewer.querySelector(".viewer-stage").clientHeight / 2;
    }
    v.x = px - (px - v.x) * (next / v.zoom);
    v.y = py - (py - v.y) * (next / v.zoom);
    v.zoom = next;
    this.applyView();
  };

  Players.prototype.resetView = function () {
    this.view.zoom = 1;
    this.view.x = 0;
    this.view.y = 0;
    this.applyView();
  };

  Players.prototype.pan = function (dx, dy) {
    this.view.x += dx;
    this.view.y += dy;
    this.applyView();
  };

  Players.prototype.applyView = function () {
    this.clampView();
    var v = this.view;
    var transform = "translate(" + v.x + "px, " + v.y + "px) scale(" + v.zoom + ")";
    this.viewers.forEach(function (viewer) {
      viewer.dataset.zoom = v.zoom.toFixed(2);
      viewer.querySelectorAll(".viewer-stage > img").forEach(function (image) {
        image.style.transform = transform;
      });
    });
    var level = this.box.querySelector("[data-zoom-level]");
    if (level) level.textContent = Math.round(v.zoom * 100) + "%";
  };

  // Flicker: the first viewer shows each side's current image in turn, in the same place.
  Players.prototype.flicker = function (on) {
    var v = this.view;
    if (on === undefined) on = !v.flicker;
    if (this.viewers.length < 2) on = false;
    v.flicker = on;
    window.clearInterval(v.timer);
    v.timer = null;
    var first = this.viewers[0];
    var button = this.box.querySelector("[data-action=flicker]");
    if (button) button.setAttribute("aria-pressed", String(on));
    if (!first) return;
    var overlay = first.querySelector("[data-flicker-image]");
    var badge = first.querySelector("[data-flicker-badge]");
    if (!on) {
      if (overlay) overlay.remove();
      if (badge) badge.remove();
      first.dataset.flicker = "off";
      delete first.dataset.showing;
      return;
    }
    if (!overlay) {
      overlay = document.createElement("img");
      overlay.setAttribute("data-flicker-image", "");
      overlay.alt = "";
      overlay.draggable = false;
      first.querySelector(".viewer-stage").appendChild(overlay);
      badge = document.createElement("span");
      badge.className = "flicker-badge";
      badge.setAttribute("data-flicker-badge", "");
      first.appendChild(badge);
    }
    first.dataset.flicker = "on";
    v.showing = 0;
    var self = this;
    this.showFlicker();
    v.timer = window.setInterval(function () {
      if (!self.alive() || !self.view.flicker) {
        window.clearInterval(self.view.timer);
        return;
      }
      self.view.showing = (self.view.showing + 1) % self.viewers.length;
      self.showFlicker();
    }, FLICKER_MS);
  };

  Players.prototype.showFlicker = function () {
    var first = this.viewers[0];
    var overlay = first.querySelector("[data-flicker-image]");
    if (!overlay) return;
    var shown = this.viewers[this.view.showing];
    var side = shown.dataset.side;
    var image = this.currentImage(shown);
    overlay.hidden = this.view.showing === 0;
    if (image && overlay.getAttribute("src") !== image.getAttribute("src")) overlay.src = image.getAttribute("src");
    overlay.style.transform = "translate(" + this.view.x + "px, " + this.view.y + "px) scale(" + this.view.zoom + ")";
    first.dataset.showing = side;
    first.querySelector("[data-flicker-badge]").textContent = side.toUpperCase();
  };

  // ---- waveforms ---------------------------------------------------------------------------------

  Players.prototype.loadPeaks = function (track) {
    var url = track.element.getAttribute("src") + "/peaks";
    var self = this;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        if (!body || !Array.isArray(body.peaks) || !body.peaks.length || !self.alive()) return;
        track.peaks = body.peaks;
        track.wave.hidden = false;
        drawWave(track);
        self.render();
      })
      .catch(function () {}); // no peaks: the clip plays without a waveform
  };

  function drawWave(track) {
    var canvas = track.wave.querySelector("canvas");
    var ratio = window.devicePixelRatio || 1;
    var width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    var height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    canvas.width = width;
    canvas.height = height;
    var context = canvas.getContext("2d");
    var peaks = track.peaks;
    var colour = getComputedStyle(canvas).color || "#4a6fa5";
    context.clearRect(0, 0, width, height);
    context.fillStyle = colour;
    var middle = height / 2;
    for (var x = 0; x < width; x++) {
      var from = Math.floor((x / width) * peaks.length);
      var to = Math.max(from + 1, Math.floor(((x + 1) / width) * peaks.length));
      var peak = 0;
      for (var i = from; i < to && i < peaks.length; i++) peak = Math.max(peak, peaks[i]);
      var half = Math.max(0.5, Math.min(1, peak) * middle);
      context.fillRect(x, middle - half, 1, 2 * half);
    }
  }

  // ---- rendering ---------------------------------------------------------------------------------

  Players.prototype.render = function () {
    if (!this.tracks.length) return;
    var box = this.box;
    var at = this.now();
    var length = this.duration();
    var self = this;
    var play = box.querySelector("[data-action=play]");
    if (play) {
      play.setAttribute("aria-pressed", String(this.playing));
      play.querySelector("[data-play-label]").textContent = this.playing ? "Pause" : "Play";
    }
    var seek = box.querySelector("[data-seek]");
    if (seek && document.activeElement !== seek) seek.value = length ? Math.round((at / length) * 1000) : 0;
    var time = box.querySelector("[data-time]");
    if (time) time.textContent = clock(at) + " / " + clock(length);
    box.querySelectorAll("[data-listen]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.listen === self.selected));
    });
    this.tracks.forEach(function (track) {
      track.element.closest("[data-track]").classList.toggle("heard", track.side === self.selected);
      if (track.wave && !track.wave.hidden) {
        var clip = elementDuration(track) || length;
        track.wave.querySelector("[data-wave-head]").style.left = (clip ? Math.min(1, at / clip) * 100 : 0) + "%";
      }
    });
    this.renderProgress();
    if (this.mode === "windows") this.renderWindows(length);
    if (this.mode === "time") this.renderRanges(length);
  };

  Players.prototype.renderProgress = function () {
    var progress = this.box.querySelector("[data-listen-progress]");
    if (!progress) return;
    var heard = this.listened();
    var self = this;
    this.tracks.forEach(function (track) {
      var cell = progress.querySelector("[data-progress-side='" + track.side + "']");
      if (!cell) return;
      var need = Math.min(self.minListen, track.knownS || Infinity);
      var got = Math.min(heard[track.side] || 0, need);
      cell.textContent = track.side.toUpperCase() + " " + got.toFixed(1) + "/" + +need.toFixed(1) + " s";
      cell.classList.toggle("done", got >= need - 0.05);
    });
  };

  Players.prototype.renderWindows = function () {
    var strip = this.box.querySelector("[data-window-strip]");
    if (!strip) return;
    var count = this.windowCount();
    if (strip.children.length !== count) {
      strip.textContent = "";
      for (var i = 0; i < count; i++) {
        var cell = document.createElement("button");
        cell.type = "button";
        cell.className = "window";
        cell.dataset.window = String(i);
        var from = i * this.windowS;
        cell.title = clock(from) + " – " + clock(from + this.windowS);
        strip.appendChild(cell);
      }
      this.windows.length = Math.min(this.windows.length, count);
    }
    var current = count ? this.currentWindow() : -1;
    for (var j = 0; j < count; j++) {
      var value = this.windows[j] || "";
      var button = strip.children[j];
      button.dataset.value = value;
      button.textContent = value === "tie" ? "=" : value.toUpperCase() || "·";
      button.setAttribute("aria-label", "Window " + (j + 1) + ": " + (value || "not set"));
      button.classList.toggle("current", j === current);
    }
  };

  Players.prototype.renderRanges = function (length) {
    var box = this.box;
    var sideName = box.querySelector("[data-range-side]");
    if (sideName) sideName.textContent = (this.selected || "").toUpperCase();
    var draft = box.querySelector("[data-range-draft]");
    var d = this.draft && this.draft.side === this.selected ? this.draft : null;
    if (draft) {
      draft.textContent = d
        ? (d.start === null ? "…" : d.start.toFixed(2)) + " – " + (d.end === null ? "…" : d.end.toFixed(2)) + " s"
        : "–";
    }
    var add = box.querySelector("[data-action=add-range]");
    if (add) add.disabled = !this.draftRange();
    var list = box.querySelector("[data-range-list]");
    var key = JSON.stringify(this.ranges);
    if (list && list.dataset.rendered !== key) {
      list.dataset.rendered = key;
      list.textContent = "";
      this.ranges.forEach(function (range, index) {
        var item = document.createElement("li");
        item.dataset.rangeIndex = String(index);
        var text = range.side.toUpperCase() + " " + range.start_s.toFixed(2) + "–" + range.end_s.toFixed(2) + " s · " + range.label;
        if (range.comment) text += " · " + range.comment;
        var span = document.createElement("span");
        span.textContent = text;
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "chip";
        remove.dataset.removeRange = String(index);
        remove.textContent = "Remove";
        item.appendChild(span);
        item.appendChild(document.createTextNode(" "));
        item.appendChild(remove);
        list.appendChild(item);
      });
      var empty = box.querySelector("[data-range-empty]");
      if (empty) empty.hidden = this.ranges.length > 0;
    }
    var marks = box.querySelector("[data-seek-marks]");
    if (marks && length) {
      var shown = this.ranges.filter(function (r) { return r.side === this.selected; }, this);
      var draftRange = this.draftRange();
      if (draftRange && draftRange.side === this.selected) shown = shown.concat([Object.assign({ draft: true }, draftRange)]);
      var marksKey = JSON.stringify(shown) + length;
      if (marks.dataset.rendered !== marksKey) {
        marks.dataset.rendered = marksKey;
        marks.textContent = "";
        shown.forEach(function (range) {
          var mark = document.createElement("span");
          mark.className = "seek-mark" + (range.draft ? " draft" : "");
          mark.style.left = (range.start_s / length) * 100 + "%";
          mark.style.width = Math.max(0.5, ((range.end_s - range.start_s) / length) * 100) + "%";
          marks.appendChild(mark);
        });
      }
    }
  };

  // ---- the answer --------------------------------------------------------------------------------

  Players.prototype.answer = function () {
    if (!this.tracks.length) return { parts: {} };
    var short = this.shortfall();
    if (short.length) {
      var first = short[0];
      var more = this.tracks.length > 1 ? " (S switches the side you hear)" : "";
      return {
        error: "Listen to " + first.side.toUpperCase() + " for " + first.left.toFixed(1) + " more seconds before voting" + more + ".",
      };
    }
    var parts = { listening_log: this.log.slice() };
    if (this.kind === "segment" && this.mode === "time") {
      parts.time_ranges = this.ranges.map(function (r) {
        return { side: r.side, start_s: r.start_s, end_s: r.end_s, label: r.label, comment: r.comment || "" };
      });
    }
    if (this.kind === "segment" && this.mode === "windows") {
      var count = this.windowCount();
      if (!count) return { error: "Wait for the clips to load, then choose A, B or tie for each window." };
      var left = 0;
      for (var i = 0; i < count; i++) if (!this.windows[i]) left++;
      if (left) {
        return { error: "Choose A, B or tie for every window: " + left + " of " + count + " left (keys 1, 2, 3)." };
      }
      parts.windows = this.windows.slice(0, count);
    }
    return { parts: parts };
  };

  // ---- wiring ------------------------------------------------------------------------------------

  function stateOf(form) {
    if (!form || !form.querySelector("[data-players]")) return null;
    if (!form.__players) form.__players = new Players(form);
    return form.__players;
  }

  function current() {
    return stateOf(document.getElementById("vote-form"));
  }

  function setUp() {
    current();
  }

  window.PreflabPlayers = { current: current };

  // preflab.js makes the registry; whichever script runs first creates the list both use.
  var registry = (window.PreflabAnswer = window.PreflabAnswer || { providers: [] });
  registry.providers.push(function (form) {
    var state = stateOf(form);
    return state ? state.answer() : {};
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
  document.addEventListener("htmx:load", setUp);
  document.addEventListener("htmx:afterSettle", setUp);

  document.addEventListener("click", function (event) {
    var state = current();
    if (!state || !(event.target instanceof Element) || !state.box.contains(event.target)) return;
    var target = event.target;
    var action = target.closest("[data-action]");
    var listen = target.closest("[data-listen]");
    var windowCell = target.closest("[data-window]");
    var remove = target.closest("[data-remove-range]");
    if (listen) state.listen(listen.dataset.listen);
    else if (windowCell) state.seek(Number(windowCell.dataset.window) * state.windowS + 0.001);
    else if (remove) {
      state.ranges.splice(Number(remove.dataset.removeRange), 1);
      state.render();
    } else if (action) {
      var name = action.dataset.action;
      var actions = {
        play: function () { state.toggle(); },
        "frame-back": function () { state.step(-1); },
        "frame-forward": function () { state.step(1); },
        "range-start": function () { state.mark(false); },
        "range-end": function () { state.mark(true); },
        "add-range": function () { state.addRange(); },
        "zoom-in": function () { state.zoom(1.25); },
        "zoom-out": function () { state.zoom(0.8); },
        "zoom-reset": function () { state.resetView(); },
        flicker: function () { state.flicker(); },
        "prev-image": function () { state.page(-1); },
        "next-image": function () { state.page(1); },
      };
      if (actions[name]) actions[name]();
    }
  });

  // Clicking a waveform seeks to that point of its clip.
  document.addEventListener("click", function (event) {
    var state = current();
    if (!state || !(event.target instanceof Element)) return;
    var canvas = event.target.closest("[data-waveform]");
    if (!canvas || !state.form.contains(canvas)) return;
    var track = state.track(canvas.dataset.side);
    var box = canvas.getBoundingClientRect();
    var length = track ? elementDuration(track) : 0;
    if (length) state.seek(((event.clientX - box.left) / box.width) * length);
  });

  document.addEventListener("input", function (event) {
    var state = current();
    if (!state || !event.target.matches || !event.target.matches("[data-seek]")) return;
    state.seek((Number(event.target.value) / 1000) * state.duration(), true);
  });

  document.addEventListener("change", function (event) {
    var state = current();
    if (!state || !event.target.matches || !event.target.matches("[data-seek]")) return;
    state.seek((Number(event.target.value) / 1000) * state.duration());
  });

  document.addEventListener("keydown", function (event) {
    var state = current();
    if (!state || event.isComposing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target instanceof Element && event.target.matches("[data-range-comment]") && event.key === "Enter") {
      // Enter in the comment adds the range (it must not submit the vote) and hands the keys back.
      event.preventDefault();
      state.addRange();
      event.target.blur();
      return;
    }
    if (isTyping(event.target)) return;
    var timed = state.tracks.length > 0;
    var key = event.key;
    var handled = true;
    if (timed && key === " ") {
      if (!event.repeat) state.toggle();
    } else if (timed && (key === "s" || key === "S")) {
      if (!event.repeat) state.switchSide();
    } else if (timed && key === ",") state.step(-1);
    else if (timed && key === ".") state.step(1);
    else if (timed && state.mode === "time" && key === "[") state.mark(false);
    else if (timed && state.mode === "time" && key === "]") state.mark(true);
    else if (timed && state.mode === "windows" && WINDOW_VALUES[key]) {
      if (!event.repeat) state.setWindow(WINDOW_VALUES[key]);
    } else if (state.viewers.length && (key === "+" || key === "=")) state.zoom(1.25);
    else if (state.viewers.length && key === "-") state.zoom(0.8);
    else if (state.viewers.length && key === "0") state.resetView();
    else if (state.viewers.length && (key === "f" || key === "F")) {
      if (!event.repeat) state.flicker();
    } else if (!timed && key === ",") state.page(-1);
    else if (!timed && key === ".") state.page(1);
    else handled = false;
    if (handled) event.preventDefault();
  });

  // A focused button would take Space as a click on key up; the transport already had it.
  document.addEventListener("keyup", function (event) {
    var state = current();
    if (state && state.tracks.length && event.key === " " && !isTyping(event.target)) event.preventDefault();
  });

  document.addEventListener(
    "wheel",
    function (event) {
      var state = current();
      if (!state || !(event.target instanceof Element)) return;
      var viewer = event.target.closest("[data-viewer]");
      if (!viewer || !state.form.contains(viewer)) return;
      event.preventDefault();
      var box = viewer.getBoundingClientRect();
      state.zoom(event.deltaY < 0 ? 1.25 : 0.8, event.clientX - box.left, event.clientY - box.top);
    },
    { passive: false }
  );

  var drag = null;
  document.addEventListener("pointerdown", function (event) {
    var state = current();
    if (!state || event.button !== 0 || !(event.target instanceof Element)) return;
    var viewer = event.target.closest("[data-viewer]");
    if (!viewer || !state.form.contains(viewer)) return;
    event.preventDefault();
    drag = { state: state, x: event.clientX, y: event.clientY };
    viewer.classList.add("dragging");
  });
  document.addEventListener("pointermove", function (event) {
    if (!drag) return;
    drag.state.pan(event.clientX - drag.x, event.clientY - drag.y);
    drag.x = event.clientX;
    drag.y = event.clientY;
  });
  document.addEventListener("pointerup", function () {
    if (!drag) return;
    drag.state.viewers.forEach(function (viewer) { viewer.classList.remove("dragging"); });
    drag = null;
  });
})();
