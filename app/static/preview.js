// The preview player: requests /vast, parses it with vast-client, plays the MediaFile in <video> and sends
// the beacons a player sends (impression, start, quartiles, complete, pause/resume, mute/unmute, click),
// then shows the campaign's counters as the server counts them.
import { VASTClient, VASTTracker } from "./vendor/vast-client.min.js";

const root = document.querySelector("[data-preview]");
const video = document.getElementById("player");
const playButton = document.getElementById("play-ad");
const clickButton = document.getElementById("click-through");
const log = document.getElementById("player-log");
const client = new VASTClient();
const COUNTS_EVERY_MS = 2000;
const RETRY_AFTER_MS = 1000;
const TRACKED = ["creativeView", "start", "firstQuartile", "midpoint", "thirdQuartile", "complete", "pause", "resume", "mute", "unmute"];

let playing = null; // the AbortController of the current ad's listeners

function note(text) {
  const item = document.createElement("li");
  item.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
  log.append(item);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The ad server chooses among every active campaign; like a player asking for its next ad break, ask
// again (a few times) until it chooses this campaign.
async function requestCampaignAd() {
  const attempts = Number(root.dataset.attempts);
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    const url = `${root.dataset.vastUrl}&cb=${Date.now()}`;
    note(`GET ${url}`);
    let response;
    try {
      response = await client.get(url);
    } catch (error) {
      note(`The VAST request failed: ${error.message}`);
      return null;
    }
    const ad = response.ads.find((candidate) => candidate.id === root.dataset.campaignId);
    if (ad) {
      note(`VAST ${response.version} parsed: ad “${ad.title}”, served as ${ad.adServingId}.`);
      return ad;
    }
    const other = response.ads[0];
    note(other ? `The ad server chose another campaign (“${other.title}”); asking again.` : "No ad (no fill); asking again.");
    await sleep(RETRY_AFTER_MS);
  }
  note(`No ad of this campaign after ${attempts} requests: is it active, in its flight, with budget and an active creative?`);
  return null;
}

function play(ad) {
  const creative = ad.creatives.find((candidate) => candidate.type === "linear");
  const media = creative && creative.mediaFiles.find((file) => video.canPlayType(file.mimeType) !== "");
  const tracker = new VASTTracker(client, ad, creative);
  if (!media) {
    note("No MediaFile this browser can play: error beacon 403 sent.");
    tracker.error({ ERRORCODE: 403 });
    return;
  }
  if (playing) playing.abort();
  playing = new AbortController();
  const options = { signal: playing.signal };

  TRACKED.forEach((event) => tracker.on(event, () => note(`${event === "creativeView" ? "impression" : event} beacon sent`)));
  tracker.on("clickthrough", (url) => {
    note("click beacon sent");
    window.open(url, "_blank", "noopener");
  });
  video.addEventListener("playing", () => tracker.trackImpression(), { ...options, once: true });
  video.addEventListener("timeupdate", () => tracker.setProgress(video.currentTime), options);
  video.addEventListener("pause", () => video.ended || tracker.setPaused(true), options);
  video.addEventListener("play", () => tracker.paused && tracker.setPaused(false), options);
  video.addEventListener("volumechange", () => tracker.setMuted(video.muted), options);
  video.addEventListener("ended", () => tracker.complete(), options);
  clickButton.hidden = !tracker.clickThroughURLTemplate;
  clickButton.addEventListener("click", () => tracker.click(), options);
  video.addEventListener(
    "error",
    () => {
      note(`The video failed (${video.error && video.error.message}): error beacon 405 sent.`);
      tracker.error({ ERRORCODE: 405 });
    },
    options,
  );

  note(`Playing ${media.fileURL} (${media.width}×${media.height}, ${media.mimeType}).`);
  video.src = media.fileURL;
  video.play().catch((error) => note(`The browser did not start the video: ${error.message}`));
}

async function showCounts() {
  try {
    const response = await fetch(root.dataset.countsUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const counts = await response.json();
    Object.entries(counts).forEach(([name, value]) => {
      const cell = document.getElementById(`live-${name}`);
      if (cell) cell.textContent = value;
    });
  } catch {
    // The next round tries again.
  }
}

playButton.addEventListener("click", async () => {
  playButton.disabled = true;
  log.replaceChildren();
  const ad = await requestCampaignAd();
  if (ad) play(ad);
  playButton.disabled = false;
});

showCounts();
setInterval(showCounts, COUNTS_EVERY_MS);
