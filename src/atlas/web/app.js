// Atlas web page: search moments, play them, ask questions answered with cited moments (the Add panel, which
// ingests, is in add.js).
//
// Every piece of text that comes from the library (titles, snippets, transcripts, answers) is put into the
// page as text (textContent / text nodes), never parsed as HTML: video titles are whatever the video's
// uploader wrote. Links from data are used only when they are http(s).
"use strict";

const $ = (id) => document.getElementById(id);

const state = {
  videos: new Map(), // video_id -> video (from /api/videos, search and ask responses)
  current: null, // {video_id, element} of the local media player on screen
  askAbort: null,
};

// -- small helpers ------------------------------------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node[key] = value;
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child); // strings become text nodes
  }
  return node;
}

function formatMoment(seconds) {
  if (seconds === null || seconds === undefined) return "untimed";
  const total = Math.floor(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}

function safeHref(url) {
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// The snippet as text nodes, with the words that matched the query wrapped in <mark>.
function highlighted(snippet, words) {
  const fragment = document.createDocumentFragment();
  const usable = (words || []).filter((w) => w && w.length > 0);
  if (usable.length === 0) {
    fragment.append(snippet);
    return fragment;
  }
  const alternatives = usable.map(escapeRegExp).sort((a, b) => b.length - a.length).join("|");
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}_])(${alternatives})(?![\\p{L}\\p{N}_])`, "giu");
  let last = 0;
  for (const match of snippet.matchAll(pattern)) {
    fragment.append(snippet.slice(last, match.index));
    fragment.append(el("mark", {}, match[0]));
    last = match.index + match[0].length;
  }
  fragment.append(snippet.slice(last));
  return fragment;
}

function setStatus(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

function showError(error) {
  const detail = (error && error.error) || {};
  const message = detail.message || "the request failed";
  setStatus(detail.hint ? `${message} (${detail.hint})` : message, true);
}

async function getJSON(url, options) {
  const response = await fetch(url, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw body;
  return body;
}

function filterParams() {
  const params = {};
  const video = $("filter-video").value;
  const channel = $("filter-channel").value;
  if (video) params.video = [video];
  if (channel) params.channel = [channel];
  if ($("filter-after").value) params.after = $("filter-after").value;
  if ($("filter-before").value) params.before = $("filter-before").value;
  return params;
}

function rememberVideos(videos) {
  for (const [id, video] of Object.entries(videos || {})) state.videos.set(id, video);
}

// -- thumbnails and the player ------------------------------------------------------------------------------

function placeholder(video) {
  const glyph = video && video.media_type === "audio" ? "♪" : video && video.kind !== "transcript" ? "▶" : "¶";
  return el("div", { className: "thumb placeholder", ariaHidden: "true" }, glyph);
}

function thumbnail(video) {
  const src = video && video.thumbnail ? safeHref(video.thumbnail) : null;
  if (!src) return placeholder(video);
  const image = el("img", { className: "thumb", src, alt: "", loading: "lazy", referrerPolicy: "no-referrer" });
  image.addEventListener("error", () => image.replaceWith(placeholder(video)), { once: true }); // offline
  return image;
}

// The window's text with the pinned snippet in bold, scrolled into view inside the passage box.
function showPassage(text, snippet) {
  const box = $("player-passage");
  const at = snippet ? text.indexOf(snippet) : -1;
  if (at < 0) {
    box.replaceChildren(text);
    return;
  }
  const pinned = el("strong", { className: "pinned" }, snippet);
  box.replaceChildren(text.slice(0, at), pinned, text.slice(at + snippet.length));
  box.scrollTop = Math.max(0, pinned.offsetTop - box.offsetTop - 24);
}

function playMoment(hit) {
  const video = state.videos.get(hit.video_id) || {};
  const player = $("player");
  player.hidden = false;
  $("player-title").textContent = hit.title;
  showPassage(hit.text, hit.snippet);
  if (typeof showChapters === "function") showChapters(hit); // chapters.js
  const link = $("player-link");
  link.replaceChildren();
  const timed = hit.timed && hit.moment !== null && hit.moment !== undefined;
  $("player-moment").textContent = timed ? `at ${formatMoment(hit.moment)}` : "untimed transcript: the passage only";
  const media = $("player-media");
  if (!timed) {
    stopMedia();
    media.replaceChildren();
    return;
  }
  const second = Math.max(0, Math.floor(hit.moment));
  if (video.kind === "youtube" && video.youtube_id) {
    stopMedia();
    const src =
      `https://www.youtube-nocookie.com/embed/${encodeURIComponent(video.youtube_id)}` +
      `?start=${second}&autoplay=1&rel=0`;
    media.replaceChildren(
      el("iframe", {
        className: "youtube",
        src,
        title: hit.title,
        allow: "autoplay; encrypted-media; picture-in-picture",
        allowFullscreen: true,
        referrerPolicy: "strict-origin-when-cross-origin",
      }),
    );
  } else if (video.media_url) {
    playLocal(video, hit.moment, media);
  } else {
    stopMedia();
    media.replaceChildren();
  }
  const href = safeHref(hit.url);
  if (href) link.append(el("a", { href, target: "_blank", rel: "noopener noreferrer" }, "open at this moment"));
}

function stopMedia() {
  if (state.current) state.current.element.pause();
  state.current = null;
}

function playLocal(video, moment, container) {
  if (state.current && state.current.video_id === video.video_id) {
    state.current.element.currentTime = moment; // same file: seek, no reload
    state.current.element.play().catch(() => {});
    return;
  }
  stopMedia();
  const tag = video.media_type === "audio" ? "audio" : "video";
  // The #t= fragment starts playback at the moment; setting currentTime once the metadata is in covers
  // players that ignore the fragment. Seeking works because /media answers HTTP Range requests.
  const element = el(tag, { className: "local", controls: true, preload: "metadata" });
  element.addEventListener("loadedmetadata", () => {
    if (Math.abs(element.currentTime - moment) > 0.5) element.currentTime = moment;
    element.play().catch(() => {});
  }, { once: true });
  element.src = `${video.media_url}#t=${moment.toFixed(2)}`;
  container.replaceChildren(element);
  state.current = { video_id: video.video_id, element };
}

// -- search -------------------------------------------------------------------------------------------------

async function search(query) {
  const params = new URLSearchParams({ q: query, limit: "30", mode: $("filter-mode").value });
  for (const [key, value] of Object.entries(filterParams())) {
    for (const item of [].concat(value)) params.append(key, item);
  }
  setStatus("Searching…");
  let body;
  try {
    body = await getJSON(`/api/search?${params}`);
  } catch (error) {
    showError(error);
    return;
  }
  rememberVideos(body.videos);
  renderResults(body);
  history.replaceState(null, "", `?${new URLSearchParams({ q: query })}`);
}

function renderResults(body) {
  const results = $("results");
  results.replaceChildren();
  if (body.hits.length === 0) {
    setStatus(`No moments found for “${body.query}”.`);
    return;
  }
  const groups = new Map(); // video_id -> hits, in the order of each video's best hit
  body.hits.forEach((hit, i) => {
    if (!groups.has(hit.video_id)) groups.set(hit.video_id, []);
    groups.get(hit.video_id).push({ hit, words: (body.highlights || [])[i] || hit.matched_terms });
  });
  const count = body.hits.length;
  setStatus(`${count} moment${count === 1 ? "" : "s"} in ${groups.size} video${groups.size === 1 ? "" : "s"}`);
  for (const [videoId, items] of groups) {
    const video = state.videos.get(videoId) || { title: items[0].hit.title };
    const meta = [video.channel, video.published].filter(Boolean).join(" · ");
    const list = el("ol", { className: "hits" });
    for (const { hit, words } of items) {
      list.append(
        el(
          "li",
          {},
          el(
            "button",
            { type: "button", className: "hit", onclick: () => playMoment(hit), dataset: { moment: String(hit.moment) } },
            el("span", { className: "moment" }, formatMoment(hit.moment)),
            el(
              "span",
              { className: "snippet" },
              // Who says it, where the transcript names speakers: shown before the words, never part of them.
              hit.speaker ? el("strong", { className: "speaker" }, `${hit.speaker}: `) : null,
              highlighted(hit.snippet, words),
            ),
          ),
        ),
      );
    }
    results.append(
      el(
        "section",
        { className: "group", dataset: { videoId } },
        el(
          "header",
          { className: "group-head" },
          thumbnail(video),
          el("div", {}, el("h2", { className: "video-title" }, items[0].hit.title), meta ? el("p", { className: "muted" }, meta) : null),
        ),
        list,
      ),
    );
  }
}

// -- ask ----------------------------------------------------------------------------------------------------

async function ask(question) {
  if (state.askAbort) state.askAbort.abort();
  const controller = new AbortController();
  state.askAbort = controller;
  const answer = $("answer");
  const text = $("answer-text");
  const sources = $("answer-sources");
  answer.hidden = false;
  text.replaceChildren();
  sources.replaceChildren();
  $("answer-note").textContent = "";
  setStatus("Finding moments…");
  let citations = [];
  let response;
  try {
    response = await fetch("/api/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ question, ...filterParams() }),
      signal: controller.signal,
    });
  } catch (error) {
    if (error.name !== "AbortError") setStatus("the server cannot be reached", true);
    return;
  }
  if (!response.ok) {
    showError(await response.json().catch(() => ({})));
    return;
  }
  const handlers = {
    moments(data) {
      rememberVideos(data.videos);
      citations = data.citations;
      renderSources(citations);
      setStatus(citations.length ? "Writing the answer…" : "No moments found.");
    },
    token(data) {
      text.append(data.text);
    },
    done(data) {
      renderAnswer(data, citations);
      setStatus(data.answered ? "Answered from the moments below." : "The library holds no answer.");
    },
    error(data) {
      showError(data);
    },
  };
  try {
    await readEvents(response, handlers);
  } catch (error) {
    if (error.name !== "AbortError") setStatus("the answer stream broke off", true);
  }
}

// Server-sent events over fetch (EventSource cannot POST): "event: name\ndata: json\n\n" frames.
async function readEvents(response, handlers) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (handlers[name] && data.length) handlers[name](JSON.parse(data.join("\n")));
    }
  }
}

function citationButton(number, citation) {
  return el(
    "button",
    { type: "button", className: "cite", title: citation ? `${citation.title} at ${formatMoment(citation.moment)}` : "", onclick: () => citation && playMoment(citation) },
    `[${number}]`,
  );
}

function renderAnswer(answer, citations) {
  const byNumber = new Map(citations.concat(answer.citations || []).map((c) => [c.number, c]));
  const text = $("answer-text");
  text.replaceChildren();
  // "[n]" markers become buttons that play the cited moment; everything else stays text.
  const parts = answer.answer.split(/(\[\d+\])/);
  for (const part of parts) {
    const marker = /^\[(\d+)\]$/.exec(part);
    if (marker && byNumber.has(Number(marker[1]))) text.append(citationButton(marker[1], byNumber.get(Number(marker[1]))));
    else text.append(part);
  }
  const dropped = (answer.dropped || []).length;
  // Quotes stand in for what the model got wrong; the note says so, so no one mistakes them for its words.
  const quoted = answer.generator.startsWith("extractive") ? 0 : (answer.sentences || []).filter((s) => s.origin === "extracted").length;
  const notes = [];
  if (dropped) notes.push(`${dropped} generated sentence${dropped === 1 ? " was" : "s were"} left out: the moments did not support ${dropped === 1 ? "it" : "them"}.`);
  if (quoted) notes.push(`${quoted} sentence${quoted === 1 ? " is" : "s are"} quoted from the moments, not written by the model.`);
  $("answer-note").textContent = notes.length ? notes.join(" ") : `Answered by ${answer.generator}.`;
  renderSources(answer.citations || citations);
}

function renderSources(citations) {
  const sources = $("answer-sources");
  sources.replaceChildren();
  for (const citation of citations) {
    sources.append(
      el(
        "li",
        {},
        citationButton(citation.number, citation),
        " ",
        el("span", { className: "source-title" }, citation.title),
        " ",
        el("span", { className: "moment" }, formatMoment(citation.moment)),
        el("p", { className: "snippet" }, citation.snippet),
      ),
    );
  }
}

// -- page set-up --------------------------------------------------------------------------------------------

const FOCUS = { search: "q", ask: "question", add: "add-targets" };

function selectTab(name) {
  for (const tab of Object.keys(FOCUS)) {
    const active = tab === name;
    $(`tab-${tab}`).setAttribute("aria-selected", String(active));
    $(`panel-${tab}`).hidden = !active;
  }
  $("results").hidden = name !== "search";
  $("answer").hidden = name !== "ask" || $("answer-text").childNodes.length === 0;
  $("filters").hidden = name === "add"; // filters narrow searches and answers, not what gets added
  setStatus("");
  $(FOCUS[name]).focus();
  if (name === "add") openAddPanel(); // add.js
}

async function loadLibrary() {
  let videos;
  try {
    videos = await getJSON("/api/videos");
  } catch (error) {
    showError(error);
    return;
  }
  // Called again after the Add panel ingests something: rebuild the choices, keeping what was chosen.
  const chosenVideo = $("filter-video").value;
  const chosenChannel = $("filter-channel").value;
  $("filter-video").replaceChildren(el("option", { value: "" }, "any video"));
  $("filter-channel").replaceChildren(el("option", { value: "" }, "any channel"));
  const channels = new Set();
  for (const video of videos) {
    state.videos.set(video.video_id, video);
    $("filter-video").append(el("option", { value: video.video_id }, video.title));
    if (video.channel) channels.add(video.channel);
  }
  for (const channel of [...channels].sort()) $("filter-channel").append(el("option", { value: channel }, channel));
  $("filter-video").value = chosenVideo;
  $("filter-channel").value = chosenChannel;
  $("library-status").textContent = `${videos.length} video${videos.length === 1 ? "" : "s"} in the library`;
}

document.addEventListener("DOMContentLoaded", () => {
  $("tab-search").addEventListener("click", () => selectTab("search"));
  $("tab-ask").addEventListener("click", () => selectTab("ask"));
  $("tab-add").addEventListener("click", () => selectTab("add"));
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const query = $("q").value.trim();
    if (query) search(query);
  });
  $("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const question = $("question").value.trim();
    if (question) ask(question);
  });
  loadLibrary().then(() => {
    const initial = new URLSearchParams(window.location.search).get("q");
    if (initial) {
      $("q").value = initial;
      search(initial);
    }
  });
});
