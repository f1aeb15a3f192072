// The preview player: requests /vast, parses it with vast-client, plays the MediaFile in <video> and sends
// the beacons a player sends (impression, start, quartiles, complete, pause/resume, mute/unmute, click),
// then shows the test beacons the server counted (apart from delivery: never billed).
import { VASTClient, VASTTracker } from "./vendor/vast-client.min.js";

const root = document.querySelector("[data-preview]");
const video = document.getElementById("player");
const playButton = document.getElementById("play-ad");
const clickButton = document.getElementById("click-through");
const log = document.getElementById("player-log");
const client = new VASTClient();
const COUNTS_EVERY_MS = 2000;
const TRACKED = ["creativeView", "start", "firstQuartile", "midpoint", "thirdQuartile", "complete", "pause", "resume", "mute", "unmute"];

let playing = null; // the AbortController of the current ad's listeners

function note(text) {
  const item = document.createElement("li");
  item.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
  log.append(item);
}

// The preview parameter (signed by the console, short-lived) makes /vast answer with this campaign's ad, or
// the one creative chosen, whatever its status: one request, marked as test traffic.
async function requestCampaignAd() {
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
  if (!ad) {
    note("No ad: the campaign has no creative to play (upload one, or activate one).");
    return null;
  }
  note(`VAST ${response.version} parsed: ad “${ad.title}”, served as ${ad.adServingId} (test traffic).`);
  return ad;
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
playButton.disabled = false; // the page renders it disabled until this module has loaded and bound it

showCounts();
setInterval(showCounts, COUNTS_EVERY_MS);
