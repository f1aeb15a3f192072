// What a player's VMAP parser sees of our playlists: @dailymotion/vmap on a DOM from @xmldom/xmldom (both
// pinned in package.json's devDependencies, installed by `make assets`). Reads a JSON array of XML documents
// on stdin and prints a JSON array with, for each, the parser's view or the error it raised.
'use strict';

const { DOMParser } = require('@xmldom/xmldom');
const VMAP = require('@dailymotion/vmap');

function parse(xml) {
  const problems = [];
  const report = (level) => (message) => problems.push(`${level}: ${message}`);
  const dom = new DOMParser({
    errorHandler: { warning: report('warning'), error: report('error'), fatalError: report('fatal') },
  }).parseFromString(xml, 'text/xml');
  if (problems.length) {
    return { error: problems.join('; ') };
  }
  try {
    const vmap = new VMAP(dom);
    return {
      version: vmap.version,
      adBreaks: vmap.adBreaks.map((adBreak) => ({
        timeOffset: adBreak.timeOffset,
        breakType: adBreak.breakType,
        breakId: adBreak.breakId,
        adSource: adBreak.adSource && {
          id: adBreak.adSource.id,
          allowMultipleAds: adBreak.adSource.allowMultipleAds,
          followRedirects: adBreak.adSource.followRedirects,
          adTagURI: adBreak.adSource.adTagURI,
        },
      })),
    };
  } catch (error) {
    return { error: String(error) };
  }
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  input += chunk;
});
process.stdin.on('end', () => {
  process.stdout.write(JSON.stringify(JSON.parse(input).map(parse)));
});
