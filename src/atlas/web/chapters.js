// Atlas web page: the playing video's chapters beside the player (GET /api/videos/{id}/chapters); a click
// plays from the chapter's start. Loaded after app.js, whose playMoment calls showChapters for every moment
// it plays. Titles and previews go into the page as text, never as HTML.
"use strict";

const chapters = {
  cache: new Map(), // video_id -> Promise of the chapters response (null when it failed)
  shown: null, // video_id whose chapters are on screen
  body: null,
};

function showChapters(hit) {
  const box = $("player-chapters");
  const videoId = hit.video_id;
  if (chapters.shown === videoId) {
    markChapter(hit);
    return;
  }
  chapters.shown = videoId;
  chapters.body = null;
  box.hidden = true;
  $("player-chapter-list").replaceChildren();
  if (!chapters.cache.has(videoId)) {
    const url = `/api/videos/${encodeURIComponent(videoId)}/chapters`;
    chapters.cache.set(videoId, getJSON(url).catch(() => null));
  }
  chapters.cache.get(videoId).then((body) => {
    if (chapters.shown !== videoId || !body || body.chapters.length < 2) return; // one chapter says nothing
    chapters.body = body;
    renderChapters(body);
    markChapter(hit);
    followPlayback(videoId);
  });
}

function renderChapters(body) {
  const list = $("player-chapter-list");
  list.replaceChildren();
  for (const chapter of body.chapters) {
    const where = body.timed ? formatMoment(chapter.start) : `word ${chapter.position.toLocaleString()}`;
    list.append(
      el(
        "li",
        {},
        el(
          "button",
          {
            type: "button",
            className: "chapter",
            title: chapter.preview,
            dataset: { index: String(chapter.index) },
            onclick: () => playMoment(chapterHit(body, chapter)),
          },
          el("span", { className: "moment" }, where),
          el("span", { className: "chapter-title" }, chapter.title),
        ),
      ),
    );
  }
  $("player-chapters").hidden = false;
}

// A chapter as the moment playMoment expects: it plays from the chapter's start (untimed: shows its opening).
function chapterHit(body, chapter) {
  return {
    video_id: body.video_id,
    title: body.title,
    text: chapter.preview,
    snippet: chapter.preview,
    moment: chapter.start,
    timed: body.timed,
    url: chapter.url,
    position: chapter.position,
  };
}

// Highlight the chapter that holds a moment (by time, or by word position when untimed).
function markChapter(hit) {
  const body = chapters.body;
  if (!body) return;
  let current = 0;
  body.chapters.forEach((chapter, i) => {
    const reached = body.timed
      ? hit.moment !== null && hit.moment !== undefined && hit.moment >= chapter.start
      : (hit.position || 0) >= chapter.position;
    if (reached) current = i;
  });
  for (const button of $("player-chapter-list").querySelectorAll(".chapter")) {
    const on = Number(button.dataset.index) === current;
    button.classList.toggle("current", on);
    if (on) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
}

// While a local file plays, the highlight follows it.
function followPlayback(videoId) {
  const playing = state.current;
  if (!playing || playing.video_id !== videoId || playing.element.dataset.chapters) return;
  playing.element.dataset.chapters = "1";
  playing.element.addEventListener("timeupdate", () => {
    if (chapters.shown === videoId) markChapter({ moment: playing.element.currentTime });
  });
}
