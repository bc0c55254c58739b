// Front end of course_lib.widgets.Player: a piano-roll picture, an <audio> element and a
// playhead that follows the sound. Clicking the roll seeks; "Save MIDI" downloads the file.
// With a score, the notes sounding are highlighted and clicking a note moves the playhead to it.
// Plain DOM, no dependencies, so it works offline in JupyterLab, Notebook 7, VS Code and Colab.

function blobUrl(view, type) {
  return URL.createObjectURL(new Blob([view], { type }));
}

// Piecewise-linear lookup in a list of [x, y] pairs sorted by x (clamped at both ends).
function interpolate(pairs, x, from, to) {
  if (!pairs.length) return 0;
  if (x <= pairs[0][from]) return pairs[0][to];
  for (let i = 1; i < pairs.length; i++) {
    const [a, b] = [pairs[i - 1], pairs[i]];
    if (x <= b[from]) {
      const span = b[from] - a[from];
      return span > 0 ? a[to] + ((x - a[from]) / span) * (b[to] - a[to]) : b[to];
    }
  }
  return pairs[pairs.length - 1][to];
}

function render({ model, el }) {
  el.classList.add("course-player");
  const title = document.createElement("div");
  title.className = "course-player-title";
  const stage = document.createElement("div");
  stage.className = "course-player-stage";
  stage.title = "click to move the playhead here";
  const roll = document.createElement("img");
  roll.className = "course-player-roll";
  roll.alt = "piano roll";
  roll.draggable = false;
  const head = document.createElement("div");
  head.className = "course-player-playhead";
  stage.append(roll, head);
  const controls = document.createElement("div");
  controls.className = "course-player-controls";
  const audio = document.createElement("audio");
  audio.controls = true;
  audio.preload = "auto";
  const save = document.createElement("button");
  save.className = "course-player-save jupyter-button";
  save.textContent = "Save MIDI";
  controls.append(audio, save);
  const score = document.createElement("div");
  score.className = "course-player-score";
  score.title = "click a note to move the playhead there";
  const scoreCaption = document.createElement("div");
  scoreCaption.className = "course-player-score-caption";
  const caption = document.createElement("div");
  caption.className = "course-player-caption";
  el.append(title, stage, score, scoreCaption, controls, caption);

  const urls = {};
  function setUrl(key, view, type) {
    if (urls[key]) URL.revokeObjectURL(urls[key]);
    urls[key] = view && view.byteLength ? blobUrl(view, type) : "";
    return urls[key];
  }
  const fractionAt = (seconds) => interpolate(model.get("time_map"), seconds, 0, 1);
  const secondsAt = (fraction) => interpolate(model.get("time_map"), fraction, 1, 0);

  // the score: each note's element by id, when it starts, and the notes lit now
  let noteById = {};
  let onsetOf = {};
  let lit = [];
  let litEntry = null;
  function showScore() {
    score.innerHTML = model.get("score_svg");
    score.style.display = model.get("score_svg") ? "" : "none";
    scoreCaption.textContent = model.get("score_caption");
    scoreCaption.style.display = model.get("score_caption") ? "" : "none";
    noteById = {};
    for (const note of score.querySelectorAll("g.note")) noteById[note.id] = note;
    onsetOf = {};
    for (const [seconds, ids] of model.get("score_map")) {
      for (const id of ids) if (!(id in onsetOf)) onsetOf[id] = seconds;
    }
    lit = [];
    litEntry = null;
    highlight();
  }
  function highlight() {
    const map = model.get("score_map");
    let entry = null;
    for (const candidate of map) {
      if (candidate[0] > audio.currentTime + 1e-3) break;
      entry = candidate;
    }
    if (entry === litEntry) return;
    litEntry = entry;
    for (const note of lit) note.classList.remove("course-score-on");
    lit = entry ? entry[1].map((id) => noteById[id]).filter(Boolean) : [];
    for (const note of lit) note.classList.add("course-score-on");
    if (lit.length) keepInView(lit[0]);
  }
  // scroll the score box (not the page) so that the lit notes stay in sight
  function keepInView(note) {
    const box = score.getBoundingClientRect();
    const spot = note.getBoundingClientRect();
    if (spot.top < box.top || spot.bottom > box.bottom) {
      score.scrollTop += spot.top - box.top - box.height / 3;
    }
  }

  function moveHead() {
    head.style.left = `${(100 * fractionAt(audio.currentTime)).toFixed(3)}%`;
    highlight();
  }
  let frame = null;
  function follow() {
    moveHead();
    frame = audio.paused ? null : requestAnimationFrame(follow);
  }
  function report() {
    model.set("position", audio.currentTime);
    model.set("playing", !audio.paused && !audio.ended);
    model.save_changes();
  }

  function showAudio() {
    audio.src = setUrl("wav", model.get("wav"), "audio/wav");
    moveHead();
  }
  function showRoll() {
    roll.src = setUrl("png", model.get("roll_png"), "image/png");
    stage.style.display = model.get("show_roll") ? "" : "none";
  }
  function showTitle() {
    title.textContent = model.get("title");
    title.style.display = model.get("title") ? "" : "none";
  }
  function showCaption() {
    caption.textContent = model.get("caption");
    caption.style.display = model.get("caption") ? "" : "none";
  }
  function showSave() {
    const midi = model.get("midi");
    save.style.display = midi && midi.byteLength ? "" : "none";
  }

  audio.addEventListener("play", () => {
    if (frame === null) follow();
    report();
  });
  audio.addEventListener("timeupdate", moveHead);
  for (const event of ["pause", "ended", "seeked"]) {
    audio.addEventListener(event, () => {
      moveHead();
      report();
    });
  }
  stage.addEventListener("click", (event) => {
    const box = roll.getBoundingClientRect();
    if (!box.width) return;
    audio.currentTime = secondsAt((event.clientX - box.left) / box.width);
    moveHead();
  });
  score.addEventListener("click", (event) => {
    const note = event.target.closest ? event.target.closest("g.note") : null;
    if (!note || !(note.id in onsetOf)) return;
    audio.currentTime = onsetOf[note.id];
    moveHead();
  });
  save.addEventListener("click", () => {
    const link = document.createElement("a");
    link.href = setUrl("midi", model.get("midi"), "audio/midi");
    link.download = model.get("filename");
    link.click();
  });
  model.on("change:wav", showAudio);
  model.on("change:roll_png", showRoll);
  model.on("change:show_roll", showRoll);
  model.on("change:time_map", moveHead);
  model.on("change:title", showTitle);
  model.on("change:midi", showSave);
  model.on("change:caption", showCaption);
  model.on("change:score_svg", showScore);
  model.on("change:score_map", showScore);
  model.on("change:score_caption", showScore);
  model.on("change:position", () => {
    const wanted = model.get("position");
    if (Math.abs(audio.currentTime - wanted) > 0.05) audio.currentTime = wanted;
    moveHead();
  });

  showTitle();
  showRoll();
  showAudio();
  showSave();
  showScore();
  showCaption();
  return () => {
    if (frame !== null) cancelAnimationFrame(frame);
    for (const url of Object.values(urls)) if (url) URL.revokeObjectURL(url);
  };
}

export default { render };
